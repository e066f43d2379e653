#include "PresentationLayer.h"

#include "ImageDocument.h"

#include <QFont>
#include <QFontMetricsF>
#include <QPainter>

namespace lucida::ui {

namespace {
constexpr int kMargin = 28;
constexpr double kMaxBarPixels = 360;
constexpr int kLegendWidth = 360;
constexpr int kLegendBar = 26;
const QColor kPanel(255, 255, 255, 225);

QFont largeFont(const QPainter& painter, int pixels, bool bold) {
    QFont f = painter.font();
    f.setPixelSize(pixels);
    f.setBold(bold);
    return f;
}
}  // namespace

std::optional<std::pair<double, QString>> PresentationLayer::scaleBar(const ImageDocument& document,
                                                                      double viewScale) {
    const ImageInfo& info = document.info();
    if (!info.mppX || viewScale <= 0) return std::nullopt;
    const double umPerScreenPixel = *info.mppX / viewScale;
    const double lengthUm = niceScaleLength(umPerScreenPixel, kMaxBarPixels);
    if (lengthUm <= 0) return std::nullopt;
    QString label;
    if (info.displayUnit == LengthUnit::Millimetre || lengthUm >= 1000)
        label = QStringLiteral("%1 mm").arg(lengthUm / 1000.0, 0, 'g', 4);
    else
        label = QStringLiteral("%1 µm").arg(lengthUm, 0, 'g', 4);
    return std::make_pair(lengthUm / umPerScreenPixel, label);
}

void PresentationLayer::setLegend(std::optional<ColourMap> colours, const QString& title,
                                  double threshold) {
    legendTitle_ = title;
    threshold_ = threshold;
    if (colours != colours_ || bar_.isNull()) {
        colours_ = colours;
        bar_ = {};
        if (colours) {
            FloatTensor ramp({1, 256});
            for (int i = 0; i < 256; ++i) ramp.data[std::size_t(i)] = float(i) / 255.0f;
            const PixelBuffer rgba = colouriseMap(ramp, *colours);
            bar_ = QImage(rgba.bytes.data(), 256, 1, int(rgba.stride()), QImage::Format_RGBA8888)
                       .copy();
        }
    }
}

void PresentationLayer::paint(QPainter& painter, const LayerContext& context) {
    painter.setRenderHint(QPainter::Antialiasing, true);
    paintScaleBar(painter, context);
    if (colours_ && !bar_.isNull()) paintLegend(painter, context);
    if (!caption_.isEmpty()) paintCaption(painter, context);
}

void PresentationLayer::paintScaleBar(QPainter& painter, const LayerContext& c) const {
    const auto bar = scaleBar(*document_, c.view.scale);
    if (!bar) return;
    const auto [px, label] = *bar;
    const QRectF box(kMargin, c.view.viewHeight - kMargin - 64, px + 32, 64);
    painter.setPen(Qt::NoPen);
    painter.setBrush(kPanel);
    painter.drawRoundedRect(box, 8, 8);
    painter.setPen(QPen(Qt::black, 8, Qt::SolidLine, Qt::FlatCap));
    const double y = box.bottom() - 14;
    painter.drawLine(QPointF(box.left() + 16, y), QPointF(box.left() + 16 + px, y));
    painter.setFont(largeFont(painter, 24, true));
    painter.setPen(Qt::black);
    painter.drawText(QRectF(box.left(), box.top() + 4, box.width(), 30), Qt::AlignCenter, label);
}

void PresentationLayer::paintLegend(QPainter& painter, const LayerContext& c) const {
    const QRectF box(c.view.viewWidth - kMargin - kLegendWidth - 32,
                     c.view.viewHeight - kMargin - 100, kLegendWidth + 32, 100);
    painter.setPen(Qt::NoPen);
    painter.setBrush(kPanel);
    painter.drawRoundedRect(box, 8, 8);
    painter.setFont(largeFont(painter, 20, true));
    painter.setPen(Qt::black);
    painter.drawText(QRectF(box.left() + 16, box.top() + 6, kLegendWidth, 26), Qt::AlignLeft,
                     legendTitle_);
    const QRectF ramp(box.left() + 16, box.top() + 38, kLegendWidth, kLegendBar);
    painter.drawImage(ramp, bar_);
    if (threshold_ > 0) {  // below the threshold nothing is drawn: grey it out here too
        painter.fillRect(QRectF(ramp.left(), ramp.top(), ramp.width() * threshold_, ramp.height()),
                         QColor(255, 255, 255, 170));
    }
    painter.setPen(QPen(Qt::black, 1));
    painter.setBrush(Qt::NoBrush);
    painter.drawRect(ramp);
    painter.setFont(largeFont(painter, 18, false));
    for (double v : {0.0, 0.5, 1.0}) {
        const double x = ramp.left() + v * ramp.width();
        painter.drawText(QRectF(x - 30, ramp.bottom() + 2, 60, 24), Qt::AlignCenter,
                         QString::number(v, 'g', 2));
    }
}

void PresentationLayer::paintCaption(QPainter& painter, const LayerContext&) const {
    const QFont font = largeFont(painter, 28, true);
    const QFontMetricsF metrics(font);
    const QRectF box(kMargin, kMargin, metrics.horizontalAdvance(caption_) + 40, 52);
    painter.setPen(Qt::NoPen);
    painter.setBrush(QColor(0, 0, 0, 170));
    painter.drawRoundedRect(box, 8, 8);
    painter.setFont(font);
    painter.setPen(Qt::white);
    painter.drawText(box, Qt::AlignCenter, caption_);
}

}  // namespace lucida::ui
