#include "ScaleBarLayer.h"

#include <QPainter>

namespace lucida::ui {

void ScaleBarLayer::paint(QPainter& painter, const LayerContext& c) {
    const ImageInfo& info = document_->info();
    if (!info.mppX) return;
    const double umPerScreenPixel = *info.mppX / c.view.scale;
    const double lengthUm = niceScaleLength(umPerScreenPixel, 160);
    if (lengthUm <= 0) return;
    const double px = lengthUm / umPerScreenPixel;
    QString label;
    if (info.displayUnit == LengthUnit::Millimetre || lengthUm >= 1000)
        label = QStringLiteral("%1 mm").arg(lengthUm / 1000.0, 0, 'g', 4);
    else
        label = QStringLiteral("%1 µm").arg(lengthUm, 0, 'g', 4);
    const QRectF box(12, c.view.viewHeight - 44, px + 16, 34);
    painter.setRenderHint(QPainter::Antialiasing, true);
    painter.setPen(Qt::NoPen);
    painter.setBrush(QColor(255, 255, 255, 210));
    painter.drawRoundedRect(box, 4, 4);
    painter.setPen(QPen(Qt::black, 3));
    const double y = box.bottom() - 9;
    painter.drawLine(QPointF(box.left() + 8, y), QPointF(box.left() + 8 + px, y));
    painter.setPen(Qt::black);
    painter.drawText(QRectF(box.left(), box.top() + 2, box.width(), 18), Qt::AlignCenter, label);
}

}  // namespace lucida::ui
