#include "FigurePreview.h"

#include <QMouseEvent>
#include <QPainter>

#include <algorithm>

namespace lucida::ui {

FigurePreview::FigurePreview(QWidget* parent) : QWidget(parent) {
    setObjectName("figurePreview");
    setMinimumSize(320, 240);
    setMouseTracking(true);
    setToolTip(tr("Drag the caption, scale bar, colour bar or overview to move it"));
}

void FigurePreview::setFigure(const QImage& image, const std::map<FigureItem, QRectF>& items) {
    image_ = image;
    items_ = items;
    drag_.reset();
    update();
}

QRectF FigurePreview::target() const {
    if (image_.isNull()) return {};
    const QSizeF fitted =
        QSizeF(image_.size()).scaled(QSizeF(size()) - QSizeF(8, 8), Qt::KeepAspectRatio);
    return QRectF(QPointF((width() - fitted.width()) / 2, (height() - fitted.height()) / 2),
                  fitted);
}

double FigurePreview::zoom() const {
    return image_.isNull() ? 1.0 : target().width() / image_.width();
}

QRectF FigurePreview::itemRect(FigureItem item) const {
    const auto found = items_.find(item);
    if (found == items_.end() || found->second.isEmpty()) return {};
    const QRectF box = drag_ && drag_->item == item ? draggedBox(drag_->at) : found->second;
    const QRectF t = target();
    return QRectF(t.topLeft() + box.topLeft() * zoom(), box.size() * zoom());
}

QRectF FigurePreview::draggedBox(QPointF at) const {
    const QRectF box = items_.at(drag_->item).translated(at - drag_->grab);
    return placedBox(box, placementFraction(box.topLeft(), image_.size()), image_.size());
}

void FigurePreview::paintEvent(QPaintEvent*) {
    QPainter painter(this);
    painter.fillRect(rect(), palette().window());
    if (image_.isNull()) {
        painter.drawText(rect(), Qt::AlignCenter, tr("Rendering the preview…"));
        return;
    }
    const QRectF t = target();
    painter.drawImage(t, image_);
    if (drag_) {
        const QRectF from = items_.at(drag_->item);
        painter.fillRect(QRectF(t.topLeft() + from.topLeft() * zoom(), from.size() * zoom()),
                         QColor(255, 255, 255, 200));
        painter.drawImage(itemRect(drag_->item), drag_->piece);
    }
    for (const auto& [item, box] : items_) {
        if (box.isEmpty()) continue;
        const bool active = drag_ && drag_->item == item;
        painter.setPen(QPen(active ? QColor(0, 120, 215) : QColor(0, 120, 215, 140), active ? 2 : 1,
                            Qt::DashLine));
        painter.setBrush(Qt::NoBrush);
        painter.drawRect(itemRect(item));
    }
}

void FigurePreview::mousePressEvent(QMouseEvent* event) {
    if (event->button() != Qt::LeftButton || image_.isNull()) return;
    // The topmost item first: the overview and scale bar lie over the panels.
    for (FigureItem item :
         {FigureItem::Overview, FigureItem::ScaleBar, FigureItem::ColourBar, FigureItem::Caption}) {
        if (!itemRect(item).contains(event->position())) continue;
        const QPointF at = (event->position() - target().topLeft()) / zoom();
        drag_ = Drag{item, at, at, image_.copy(items_.at(item).toAlignedRect())};
        setCursor(Qt::ClosedHandCursor);
        update();
        return;
    }
}

void FigurePreview::mouseMoveEvent(QMouseEvent* event) {
    if (!drag_) {
        bool over = false;
        for (FigureItem item : kFigureItems) over |= itemRect(item).contains(event->position());
        setCursor(over ? Qt::OpenHandCursor : Qt::ArrowCursor);
        return;
    }
    drag_->at = (event->position() - target().topLeft()) / zoom();
    update();
}

void FigurePreview::mouseReleaseEvent(QMouseEvent* event) {
    if (!drag_ || event->button() != Qt::LeftButton) return;
    drag_->at = (event->position() - target().topLeft()) / zoom();
    const FigureItem item = drag_->item;
    const QRectF box = draggedBox(drag_->at);
    const bool movedAtAll = box.topLeft() != items_.at(item).topLeft();
    items_[item] = box;
    drag_.reset();
    setCursor(Qt::OpenHandCursor);
    update();
    if (movedAtAll) emit moved(item, placementFraction(box.topLeft(), image_.size()));
}

}  // namespace lucida::ui
