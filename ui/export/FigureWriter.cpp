#include "FigureWriter.h"

#include "io/AtomicFile.h"

#include <QBuffer>
#include <QClipboard>
#include <QGuiApplication>
#include <QImageWriter>
#include <QPageSize>
#include <QPainter>
#include <QPdfWriter>
#include <QSvgGenerator>

#include <stdexcept>

namespace lucida::ui {

namespace {

QByteArray encodeRaster(const FigureRenderer& renderer, const FigureOptions& o,
                        const char* format) {
    QImage image = renderer.renderImage(o);
    // Opaque for every raster format: the figure is painted over white anyway.
    image = image.convertToFormat(QImage::Format_RGB32);
    QByteArray bytes;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    QImageWriter writer(&buffer, format);
    if (QByteArray(format) == "jpeg") writer.setQuality(o.jpegQuality);
    if (QByteArray(format) == "tiff") writer.setCompression(1);  // LZW
    if (!writer.write(image))
        throw std::runtime_error("cannot encode the figure as " + std::string(format) + ": " +
                                 writer.errorString().toStdString());
    return bytes;
}

QByteArray encodeSvg(const FigureRenderer& renderer, const FigureOptions& o) {
    const QSize size = renderer.layout(o).size;
    QByteArray bytes;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    QSvgGenerator svg;
    svg.setOutputDevice(&buffer);
    svg.setSize(size);
    svg.setViewBox(QRect(QPoint(0, 0), size));
    svg.setResolution(o.dpi);
    svg.setTitle(QStringLiteral("Lucida figure"));
    QPainter painter;
    if (!painter.begin(&svg)) throw std::runtime_error("cannot start an SVG document");
    renderer.paint(painter, o);
    painter.end();
    return bytes;
}

QByteArray encodePdf(const FigureRenderer& renderer, const FigureOptions& o) {
    const QSize size = renderer.layout(o).size;
    QByteArray bytes;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    {
        QPdfWriter pdf(&buffer);
        pdf.setResolution(o.dpi);
        pdf.setTitle(QStringLiteral("Lucida figure"));
        pdf.setCreator(QStringLiteral("Lucida"));
        pdf.setPageMargins(QMarginsF(0, 0, 0, 0));
        const QSizeF points(size.width() * 72.0 / o.dpi, size.height() * 72.0 / o.dpi);
        pdf.setPageSize(QPageSize(points, QPageSize::Point, QString(), QPageSize::ExactMatch));
        QPainter painter;
        if (!painter.begin(&pdf)) throw std::runtime_error("cannot start a PDF document");
        // The page is the figure's size at its DPI; map figure pixels onto it exactly.
        painter.scale(double(pdf.width()) / size.width(), double(pdf.height()) / size.height());
        renderer.paint(painter, o);
        painter.end();
    }
    return bytes;
}

}  // namespace

QByteArray encodeFigure(const FigureRenderer& renderer, const FigureOptions& options,
                        FigureFormat format) {
    switch (format) {
        case FigureFormat::Png:
            return encodeRaster(renderer, options, "png");
        case FigureFormat::Tiff:
            return encodeRaster(renderer, options, "tiff");
        case FigureFormat::Jpeg:
            return encodeRaster(renderer, options, "jpeg");
        case FigureFormat::Svg:
            return encodeSvg(renderer, options);
        case FigureFormat::Pdf:
            return encodePdf(renderer, options);
    }
    throw std::logic_error("unknown figure format");
}

void writeFigure(const QString& path, const FigureRenderer& renderer,
                 const FigureOptions& options) {
    const auto format = figureFormatFor(path);
    if (!format)
        throw std::runtime_error(path.toStdString() +
                                 ": unknown figure format (use .png, .tif, .jpg, .svg or .pdf)");
    QByteArray bytes;
    try {
        bytes = encodeFigure(renderer, options, *format);
    } catch (const std::exception& e) {
        throw std::runtime_error(path.toStdString() + ": " + e.what());
    }
    writeFileAtomically(path.toStdString(), std::string_view(bytes.constData(), bytes.size()));
}

void copyFigureToClipboard(const FigureRenderer& renderer, const FigureOptions& options) {
    QGuiApplication::clipboard()->setImage(renderer.renderImage(options));
}

}  // namespace lucida::ui
