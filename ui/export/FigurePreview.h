#pragma once
// The Export Figure dialog's preview: the figure rendered small, its movable items (caption,
// scale bar, colour bar, overview inset) outlined; dragging one moves it, and on release
// `moved` gives its new top-left as a fraction of the figure (FigurePlacement).

#include "FigurePlacement.h"

#include <QImage>
#include <QWidget>

#include <map>
#include <optional>

namespace lucida::ui {

class FigurePreview : public QWidget {
    Q_OBJECT
public:
    explicit FigurePreview(QWidget* parent = nullptr);

    // The figure as rendered and its items' boxes, in the image's pixels.
    void setFigure(const QImage& image, const std::map<FigureItem, QRectF>& items);
    bool hasFigure() const { return !image_.isNull(); }
    // Where an item's box is drawn in this widget's coordinates (empty: not on the figure).
    QRectF itemRect(FigureItem item) const;

    QSize sizeHint() const override { return {480, 360}; }

signals:
    void moved(lucida::ui::FigureItem item, QPointF fraction);

protected:
    void paintEvent(QPaintEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;

private:
    QRectF target() const;                // where the image is drawn
    double zoom() const;                  // widget pixels per figure pixel
    QRectF draggedBox(QPointF at) const;  // figure pixels, clamped inside the figure

    QImage image_;
    std::map<FigureItem, QRectF> items_;
    struct Drag {
        FigureItem item;
        QPointF grab;  // the press, in figure pixels
        QPointF at;    // the pointer now, in figure pixels
        QImage piece;  // the item as rendered, drawn where it is being dragged
    };
    std::optional<Drag> drag_;
};

}  // namespace lucida::ui
