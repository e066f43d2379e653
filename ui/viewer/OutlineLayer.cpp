#include "OutlineLayer.h"

#include <QPainter>

namespace lucida::ui {

void OutlineLayer::setOutlines(std::vector<QPolygonF> outlines) {
    outlines_ = std::move(outlines);
    bounds_.clear();
    for (const QPolygonF& polygon : outlines_) bounds_.push_back(polygon.boundingRect());
}

void OutlineLayer::paint(QPainter& painter, const LayerContext& c) {
    if (outlines_.empty()) return;
    const QRectF visible(c.visible.x, c.visible.y, c.visible.width, c.visible.height);
    painter.setTransform(c.imageToFrame(), true);
    QPen pen(QColor(40, 230, 120), 2);
    pen.setCosmetic(true);  // two screen pixels at any zoom
    painter.setPen(pen);
    painter.setBrush(Qt::NoBrush);
    painter.setRenderHint(QPainter::Antialiasing, true);
    for (std::size_t i = 0; i < outlines_.size(); ++i)
        if (bounds_[i].intersects(visible)) painter.drawPolygon(outlines_[i]);
}

}  // namespace lucida::ui
