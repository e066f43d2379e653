#include "CaseReportPdf.h"

#include <QBuffer>
#include <QFont>
#include <QFontMetricsF>
#include <QPageLayout>
#include <QPageSize>
#include <QPainter>
#include <QPdfWriter>

#include <algorithm>

namespace lucida::ui {
namespace {

constexpr int kDpi = 300;
constexpr double kPt = kDpi / 72.0;  // device units per point

QString qs(const std::string& text) { return QString::fromStdString(text); }

// DejaVu Sans (its ligatures, e.g. "ﬀ", extract as such: NFKC gives the letters back).
QFont reportFont(double points, bool bold = false) {
    QFont font("DejaVu Sans");
    font.setPointSizeF(points);
    font.setBold(bold);
    return font;
}

// Places blocks top to bottom across A4 pages, starting a page when a block does not fit.
class PdfFlow {
public:
    PdfFlow(QPdfWriter& writer, QPainter& painter) : writer_(writer), painter_(painter) {
        const QRectF page = writer.pageLayout().paintRectPixels(kDpi);
        width_ = page.width();
        height_ = page.height();
    }

    double width() const { return width_; }
    double y() const { return y_; }

    void ensure(double height) {
        if (y_ + height <= height_ || y_ == 0) return;
        writer_.newPage();
        y_ = 0;
    }
    void skip(double points) { y_ += points * kPt; }

    void text(const QString& text, double points, bool bold = false, QColor colour = Qt::black) {
        QFont font = reportFont(points, bold);
        painter_.setFont(font);
        painter_.setPen(colour);
        const QRectF box = painter_.boundingRect(QRectF(0, 0, width_, 1e6), Qt::TextWordWrap, text);
        ensure(box.height());
        painter_.drawText(QRectF(0, y_, width_, box.height()), Qt::TextWordWrap, text);
        y_ += box.height();
    }

    void heading(const QString& title) {
        ensure(60 * kPt);  // a heading never ends a page
        skip(10);
        text(title, 13, true, QColor(0x1f, 0x4e, 0x79));
        painter_.setPen(QPen(QColor(0x1f, 0x4e, 0x79), 0.8 * kPt));
        painter_.drawLine(QPointF(0, y_ + 2 * kPt), QPointF(width_, y_ + 2 * kPt));
        skip(6);
    }

    // Label–value rows in two columns.
    void rows(const std::vector<ReportRow>& rows) {
        QFont font = reportFont(9.5);
        const double labelWidth = width_ * 0.32;
        for (const ReportRow& row : rows) {
            painter_.setFont(font);
            const QRectF valueBox = painter_.boundingRect(QRectF(0, 0, width_ - labelWidth, 1e6),
                                                          Qt::TextWordWrap, qs(row.value));
            const double h = std::max(valueBox.height(), QFontMetricsF(font, &writer_).height());
            ensure(h);
            painter_.setPen(QColor(90, 90, 90));
            painter_.drawText(QRectF(0, y_, labelWidth, h), Qt::TextWordWrap, qs(row.label));
            painter_.setPen(Qt::black);
            painter_.drawText(QRectF(labelWidth, y_, width_ - labelWidth, h), Qt::TextWordWrap,
                              qs(row.value));
            y_ += h + 1.5 * kPt;
        }
    }

    // A box of `height` device units at the cursor, for the caller to draw in.
    QRectF take(double height) {
        ensure(height);
        const QRectF box(0, y_, width_, height);
        y_ += height;
        return box;
    }

private:
    QPdfWriter& writer_;
    QPainter& painter_;
    double width_ = 0, height_ = 0, y_ = 0;
};

QRectF fitted(QSizeF image, const QRectF& box) {
    const QSizeF size = image.scaled(box.size(), Qt::KeepAspectRatio);
    return QRectF(box.x() + (box.width() - size.width()) / 2, box.y(), size.width(), size.height());
}

void drawThumbnail(QPainter& painter, PdfFlow& flow, const CaseReportImages& images) {
    const QSizeF size = images.thumbnail.size();
    const QRectF box =
        flow.take(std::min(flow.width() * size.height() / size.width(), 120 * kDpi / 25.4));
    const QRectF target = fitted(size, box);
    painter.drawImage(target, images.thumbnail);
    const double s = target.width() / size.width();
    QFont font = reportFont(8, true);
    painter.setFont(font);
    for (std::size_t i = 0; i < images.thumbnailRegions.size(); ++i) {
        const QRectF r = images.thumbnailRegions[i];
        const QRectF mapped(target.x() + r.x() * s, target.y() + r.y() * s, r.width() * s,
                            r.height() * s);
        painter.setPen(QPen(Qt::black, 0.8 * kPt));
        painter.setBrush(Qt::NoBrush);
        painter.drawRect(mapped.adjusted(-2 * kPt, -2 * kPt, 2 * kPt, 2 * kPt));
        painter.drawText(mapped.topLeft() + QPointF(-2 * kPt, -4 * kPt), QString::number(i + 1));
    }
}

void drawColourBar(QPainter& painter, PdfFlow& flow, const QImage& bar, const QString& label) {
    const QRectF box = flow.take(26 * kPt);
    const QRectF strip(box.x(), box.y() + 2 * kPt, box.width() * 0.5, 8 * kPt);
    painter.drawImage(strip, bar);
    painter.setPen(QPen(Qt::black, 0.5 * kPt));
    painter.setBrush(Qt::NoBrush);
    painter.drawRect(strip);
    QFont font = reportFont(8);
    painter.setFont(font);
    painter.drawText(QRectF(strip.x(), strip.bottom() + kPt, strip.width(), 12 * kPt),
                     Qt::AlignLeft, "0 (low)");
    painter.drawText(QRectF(strip.x(), strip.bottom() + kPt, strip.width(), 12 * kPt),
                     Qt::AlignRight, "1 (high)");
    painter.drawText(
        QRectF(strip.right() + 8 * kPt, strip.y() - 2 * kPt, box.width() * 0.5 - 8 * kPt, 24 * kPt),
        Qt::TextWordWrap, label);
}

// The histogram of patch probabilities as vector bars with its axis labelled.
void drawHistogram(QPainter& painter, PdfFlow& flow, const std::vector<int>& histogram) {
    const QRectF box = flow.take(110 * kPt);
    const QRectF plot(box.x() + 36 * kPt, box.y() + 6 * kPt, box.width() * 0.6, 80 * kPt);
    const int most = std::max(1, *std::max_element(histogram.begin(), histogram.end()));
    const double barWidth = plot.width() / double(histogram.size());
    painter.setPen(Qt::NoPen);
    painter.setBrush(QColor(0x1f, 0x77, 0xb4));
    for (std::size_t i = 0; i < histogram.size(); ++i) {
        const double h = plot.height() * histogram[i] / most;
        painter.drawRect(
            QRectF(plot.x() + i * barWidth + 0.5 * kPt, plot.bottom() - h, barWidth - kPt, h));
    }
    painter.setPen(QPen(Qt::black, 0.6 * kPt));
    painter.drawLine(plot.bottomLeft(), plot.bottomRight());
    painter.drawLine(plot.bottomLeft(), plot.topLeft());
    QFont font = reportFont(7.5);
    painter.setFont(font);
    for (double v : {0.0, 0.25, 0.5, 0.75, 1.0})
        painter.drawText(QRectF(plot.x() + v * plot.width() - 20 * kPt, plot.bottom() + 2 * kPt,
                                40 * kPt, 10 * kPt),
                         Qt::AlignHCenter, QString::number(v));
    painter.drawText(QRectF(box.x(), plot.y() - 4 * kPt, 32 * kPt, 10 * kPt), Qt::AlignRight,
                     QString::number(most));
    painter.drawText(QRectF(box.x(), plot.bottom() - 8 * kPt, 32 * kPt, 10 * kPt), Qt::AlignRight,
                     "0");
    painter.drawText(QRectF(plot.x(), plot.bottom() + 12 * kPt, plot.width(), 10 * kPt),
                     Qt::AlignHCenter, "patch probability (patches per bin)");
}

void drawRegions(QPainter& painter, PdfFlow& flow, const CaseReportData& data,
                 const CaseReportImages& images) {
    for (std::size_t i = 0; i < data.regions.size(); ++i) {
        const auto& r = data.regions[i];
        flow.ensure(95 * kDpi / 25.4);
        flow.text(QStringLiteral("Region %1 — peak probability %2, %3, %4, at x %5, y %6")
                      .arg(i + 1)
                      .arg(r.probability, 0, 'f', 3)
                      .arg(r.patches == 1 ? QStringLiteral("1 patch")
                                          : QStringLiteral("%1 patches").arg(r.patches))
                      .arg(qs(data.regionAreas[i]))
                      .arg(r.peakX, 0, 'f', 0)
                      .arg(r.peakY, 0, 'f', 0),
                  9.5, true);
        flow.skip(3);
        const double side = (flow.width() - 10 * kPt) / 2;
        const QRectF box = flow.take(side * 0.92);
        const double s = box.height();
        painter.drawImage(QRectF(box.x(), box.y(), s, s), images.plainCrops[i]);
        painter.drawImage(QRectF(box.x() + side + 10 * kPt, box.y(), s, s), images.heatCrops[i]);
        flow.text(
            QStringLiteral("Left: the slide. Right: with heat (%1).").arg(qs(data.explainedClass)),
            8, false, QColor(90, 90, 90));
        flow.skip(8);
    }
}

void drawAnnotations(PdfFlow& flow, const CaseReportData& data) {
    if (data.annotations.empty()) {
        flow.text("No annotations.", 9.5);
        return;
    }
    std::vector<ReportRow> rows;
    for (const ReportAnnotationClass& c : data.annotations)
        rows.push_back({c.name, std::to_string(c.count) + (c.count == 1 ? " object" : " objects") +
                                    ", area " + c.area + ", length " + c.length});
    flow.rows(rows);
}

}  // namespace

QByteArray layoutCaseReportPdf(const CaseReportData& data, const CaseReportImages& images) {
    QByteArray bytes;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    {
        QPdfWriter writer(&buffer);
        writer.setResolution(kDpi);
        writer.setPageLayout(QPageLayout(QPageSize(QPageSize::A4), QPageLayout::Portrait,
                                         QMarginsF(18, 16, 18, 16), QPageLayout::Millimeter));
        // Fixed metadata: never the image's or the patient's name.
        writer.setTitle("Lucida case report");
        writer.setCreator(qs(data.software));
        QPainter painter(&writer);
        PdfFlow flow(writer, painter);
        flow.text("Lucida case report", 20, true);
        flow.text(qs(data.imageName), 11);
        flow.text(qs("Created " + data.created + " with " + data.software), 8.5, false,
                  QColor(90, 90, 90));
        if (!data.patient.empty()) {
            flow.heading("Patient");
            flow.rows(data.patient);
        }
        flow.heading("Slide and heat");
        drawThumbnail(painter, flow, images);
        flow.skip(4);
        drawColourBar(painter, flow, images.colourBar,
                      qs("Heat: " + data.method.front().value + " of class “" +
                         data.explainedClass + "”, slide-wide scale"));
        flow.heading("Slide score");
        flow.rows(data.score);
        flow.skip(4);
        drawHistogram(painter, flow, data.histogram);
        flow.ensure(110 * kDpi / 25.4);  // the heading with its first region
        flow.heading(QStringLiteral("Top regions (%1)").arg(data.regions.size()));
        if (data.regions.empty()) flow.text("No region at or above the threshold.", 9.5);
        drawRegions(painter, flow, data, images);
        flow.heading("Annotations per class");
        drawAnnotations(flow, data);
        flow.heading("Image");
        flow.rows(data.image);
        flow.heading("Model card");
        flow.rows(data.model);
        if (!data.training.empty()) {
            flow.heading("Training metrics");
            flow.rows(data.training);
        }
        flow.heading("Method and settings");
        flow.rows(data.method);
        flow.heading("Software");
        flow.rows({{"Version", data.software}, {"Report date", data.created}});
    }
    return bytes;
}

}  // namespace lucida::ui
