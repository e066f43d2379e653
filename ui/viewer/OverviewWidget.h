#pragma once

#include "image/PixelBuffer.h"

#include <QFutureWatcher>
#include <QImage>
#include <QPointer>
#include <QWidget>

#include <memory>

namespace lucida::ui {

class SlideView;

// The minimap: a thumbnail of the whole image with the viewport drawn on it; click or drag to
// move the view there. The thumbnail is read on a worker thread.
class OverviewWidget : public QWidget {
    Q_OBJECT
public:
    explicit OverviewWidget(QWidget* parent = nullptr);

    void setView(SlideView* view);  // nullptr: empty
    bool hasThumbnail() const { return !thumbnail_.isNull(); }
    QRectF imageArea() const;  // where the whole image lies in this widget
    QPointF widgetToImage(QPointF p) const;
    QPointF imageToWidget(QPointF p) const;
    QSize sizeHint() const override { return {260, 220}; }

protected:
    void paintEvent(QPaintEvent*) override;
    void mousePressEvent(QMouseEvent*) override;
    void mouseMoveEvent(QMouseEvent*) override;

private:
    void reloadThumbnail();
    void rewindow();
    void centreViewAt(QPointF widgetPoint);

    QPointer<SlideView> view_;
    QList<QMetaObject::Connection> connections_;
    std::shared_ptr<const PixelBuffer> raw_;  // as read, before windowing
    QImage thumbnail_;
    QFutureWatcher<std::shared_ptr<const PixelBuffer>> watcher_;
};

}  // namespace lucida::ui
