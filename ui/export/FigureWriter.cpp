#include "FigureWriter.h"

#include "FigureProgress.h"
#include "io/AtomicFile.h"

#include <QBuffer>
#include <QImageWriter>
#include <QPageSize>
#include <QPainter>
#include <QPdfWriter>
#include <QSvgGenerator>

#include <stdexcept>

namespace lucida::ui {

namespace {

// The encoder's output: counts what it is given and refuses it once the export is cancelled,
// which stops libpng, libtiff, libjpeg and the SVG and PDF writers at their next write.
class EncoderBuffer : public QBuffer {
public:
    EncoderBuffer(QByteArray* bytes, FigureProgress* progress)
        : QBuffer(bytes), progress_(progress) {
        open(QIODevice::WriteOnly);
    }

protected:
    qint64 writeData(const char* data, qint64 length) override {
        if (progress_ && progress_->isCancelled()) {
            setErrorString(QStringLiteral("cancelled"));
            return -1;
        }
        if (progress_) progress_->addEncodedBytes(double(length));
        return QBuffer::writeData(data, length);
    }

private:
    FigureProgress* progress_;
};

void enterStage(FigureProgress* progress, FigureProgress::Stage stage) {
    if (!progress) return;
    progress->throwIfCancelled();
    progress->setStage(stage);
}

QByteArray encodeRaster(const FigureRenderer& renderer, const FigureOptions& o, const char* format,
                        FigureProgress* progress) {
    QImage image = renderer.renderImage(o);
    enterStage(progress, FigureProgress::Stage::Encoding);
    // Opaque for every raster format: the figure is painted over white anyway.
    image = image.convertToFormat(QImage::Format_RGB32);
    QByteArray bytes;
    EncoderBuffer buffer(&bytes, progress);
    QImageWriter writer(&buffer, format);
    if (QByteArray(format) == "jpeg") writer.setQuality(o.jpegQuality);
    if (QByteArray(format) == "tiff") writer.setCompression(1);  // LZW
    const bool written = writer.write(image);
    if (progress) progress->throwIfCancelled();
    if (!written)
        throw std::runtime_error("cannot encode the figure as " + std::string(format) + ": " +
                                 writer.errorString().toStdString());
    return bytes;
}

QByteArray encodeSvg(const FigureRenderer& renderer, const FigureOptions& o,
                     FigureProgress* progress) {
    const QSize size = renderer.layout(o).size;
    QByteArray bytes;
    EncoderBuffer buffer(&bytes, progress);
    QSvgGenerator svg;
    svg.setOutputDevice(&buffer);
    svg.setSize(size);
    svg.setViewBox(QRect(QPoint(0, 0), size));
    svg.setResolution(o.dpi);
    svg.setTitle(QStringLiteral("Lucida figure"));
    QPainter painter;
    if (!painter.begin(&svg)) throw std::runtime_error("cannot start an SVG document");
    renderer.paint(painter, o);
    enterStage(progress, FigureProgress::Stage::Encoding);
    painter.end();
    if (progress) progress->throwIfCancelled();
    return bytes;
}

QByteArray encodePdf(const FigureRenderer& renderer, const FigureOptions& o,
                     FigureProgress* progress) {
    const QSize size = renderer.layout(o).size;
    QByteArray bytes;
    EncoderBuffer buffer(&bytes, progress);
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
        enterStage(progress, FigureProgress::Stage::Encoding);
        painter.end();
    }
    if (progress) progress->throwIfCancelled();
    return bytes;
}

}  // namespace

QByteArray encodeFigure(const FigureRenderer& renderer, const FigureOptions& options,
                        FigureFormat format, FigureProgress* progress) {
    switch (format) {
        case FigureFormat::Png:
            return encodeRaster(renderer, options, "png", progress);
        case FigureFormat::Tiff:
            return encodeRaster(renderer, options, "tiff", progress);
        case FigureFormat::Jpeg:
            return encodeRaster(renderer, options, "jpeg", progress);
        case FigureFormat::Svg:
            return encodeSvg(renderer, options, progress);
        case FigureFormat::Pdf:
            return encodePdf(renderer, options, progress);
    }
    throw std::logic_error("unknown figure format");
}

void writeFigure(const QString& path, const FigureRenderer& renderer, const FigureOptions& options,
                 FigureProgress* progress) {
    const auto format = figureFormatFor(path);
    if (!format)
        throw std::runtime_error(path.toStdString() +
                                 ": unknown figure format (use .png, .tif, .jpg, .svg or .pdf)");
    QByteArray bytes;
    try {
        bytes = encodeFigure(renderer, options, *format, progress);
    } catch (const FigureCancelled&) {
        throw;
    } catch (const std::exception& e) {
        throw std::runtime_error(path.toStdString() + ": " + e.what());
    }
    if (progress) progress->throwIfCancelled();  // the last moment nothing is on disk yet
    writeFileAtomically(path.toStdString(), std::string_view(bytes.constData(), bytes.size()));
}

}  // namespace lucida::ui
