#include "OverviewWidget.h"

#include "SlideView.h"

#include <QMouseEvent>
#include <QPainter>
#include <QtConcurrent/QtConcurrentRun>

namespace lucida::ui {

namespace {
constexpr int kThumbnailSide = 512;

// The coarsest level still at least kThumbnailSide on its longer side (or level 0 if none is).
int thumbnailLevel(const ImageInfo& info) {
    int best = 0;
    for (std::size_t i = 0; i < info.levels.size(); ++i)
        if (std::max(info.levels[i].width, info.levels[i].height) >= kThumbnailSide)
            best = static_cast<int>(i);
    return best;
}
}  // namespace

OverviewWidget::OverviewWidget(QWidget* parent) : QWidget(parent) {
    setMinimumSize(160, 120);
    connect(&watcher_, &QFutureWatcher<std::shared_ptr<const PixelBuffer>>::finished, this, [this] {
        try {
            raw_ = watcher_.result();
        } catch (...) {
            raw_.reset();  // the view reports tile errors; the overview just stays empty
        }
        rewindow();
    });
}

void OverviewWidget::setView(SlideView* view) {
    for (const auto& c : connections_) disconnect(c);
    connections_.clear();
    view_ = view;
    raw_.reset();
    thumbnail_ = QImage();
    if (view_) {
        connections_ << connect(view_, &SlideView::viewChanged, this,
                                qOverload<>(&QWidget::update));
        connections_ << connect(view_->document(), &ImageDocument::sliceChanged, this,
                                &OverviewWidget::reloadThumbnail);
        connections_ << connect(view_->document(), &ImageDocument::windowChanged, this,
                                &OverviewWidget::rewindow);
        reloadThumbnail();
    }
    update();
}

void OverviewWidget::reloadThumbnail() {
    if (!view_) return;
    auto source = view_->document()->source();
    const int slice = view_->document()->slice();
    watcher_.setFuture(QtConcurrent::run([source, slice]() -> std::shared_ptr<const PixelBuffer> {
        const ImageInfo& info = source->info();
        const int level = thumbnailLevel(info);
        const Level& lv = info.level(level);
        return std::make_shared<const PixelBuffer>(
            source->readRegion(level, {0, 0, lv.width, lv.height}, slice));
    }));
}

void OverviewWidget::rewindow() {
    if (!view_ || !raw_) {
        thumbnail_ = QImage();
    } else {
        GrayLut lut;
        if (raw_->format == PixelFormat::Gray16)
            lut = GrayLut(view_->document()->info().grayMapping, view_->document()->window());
        thumbnail_ = toDisplayImage(*raw_, lut)
                         .scaled(kThumbnailSide, kThumbnailSide, Qt::KeepAspectRatio,
                                 Qt::SmoothTransformation);
    }
    update();
}

QRectF OverviewWidget::imageArea() const {
    if (!view_) return {};
    const double w = double(view_->document()->info().width()),
                 h = double(view_->document()->info().height());
    const double s = std::min((width() - 8) / w, (height() - 8) / h);
    return {(width() - w * s) / 2, (height() - h * s) / 2, w * s, h * s};
}

QPointF OverviewWidget::widgetToImage(QPointF p) const {
    const QRectF a = imageArea();
    const double s = a.width() / double(view_->document()->info().width());
    return {(p.x() - a.left()) / s, (p.y() - a.top()) / s};
}

QPointF OverviewWidget::imageToWidget(QPointF p) const {
    const QRectF a = imageArea();
    const double s = a.width() / double(view_->document()->info().width());
    return {a.left() + p.x() * s, a.top() + p.y() * s};
}

void OverviewWidget::paintEvent(QPaintEvent*) {
    QPainter painter(this);
    painter.fillRect(rect(), palette().window());
    if (!view_) return;
    const QRectF area = imageArea();
    painter.setRenderHint(QPainter::SmoothPixmapTransform, true);
    if (!thumbnail_.isNull())
        painter.drawImage(area, thumbnail_);
    else
        painter.fillRect(area, QColor(0x2b, 0x2b, 0x2b));
    // The viewport, as the polygon of its four corners (it may be rotated).
    const QPointF corners[] = {{0, 0},
                               {double(view_->width()), 0},
                               {double(view_->width()), double(view_->height())},
                               {0, double(view_->height())}};
    QPolygonF poly;
    for (const QPointF& c : corners) poly << imageToWidget(view_->screenToImage(c));
    // Crisp (not antialiased: a blended edge would be red again on red) white on black, visible
    // on any image (a red outline vanished on red stains).
    painter.setRenderHint(QPainter::Antialiasing, false);
    painter.setClipRect(area.adjusted(-3, -3, 3, 3));
    painter.setPen(QPen(Qt::black, 5));
    painter.setBrush(QColor(255, 255, 255, 40));
    painter.drawPolygon(poly);
    painter.setPen(QPen(Qt::white, 2));
    painter.setBrush(Qt::NoBrush);
    painter.drawPolygon(poly);
}

void OverviewWidget::centreViewAt(QPointF p) {
    if (!view_) return;
    const QPointF image = widgetToImage(p);
    view_->setCentre(image.x(), image.y());
}

void OverviewWidget::mousePressEvent(QMouseEvent* e) {
    if (e->button() == Qt::LeftButton) centreViewAt(e->position());
}

void OverviewWidget::mouseMoveEvent(QMouseEvent* e) {
    if (e->buttons() & Qt::LeftButton) centreViewAt(e->position());
}

}  // namespace lucida::ui
