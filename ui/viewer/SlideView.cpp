#include "SlideView.h"

#include "PatientDetails.h"
#include "TileService.h"

#include <QGestureEvent>
#include <QKeyEvent>
#include <QMouseEvent>
#include <QNativeGestureEvent>
#include <QPainter>
#include <QPinchGesture>
#include <QTimer>
#include <QWheelEvent>

#include <algorithm>
#include <cmath>

namespace lucida::ui {

namespace {
// Screen-side images of tiles ready to draw, apart from the byte-budgeted decoded-tile cache (so
// outside its budget): two screens' worth of tiles, enough to pan and to show the backdrop without
// converting a tile twice, and no more, since each is a second copy of a decoded tile.
constexpr int kDisplayScreens = 2;
constexpr int kMinDisplayCacheKiB = 16 * 1024;
constexpr double kWheelStep = 1.25;
// Repaints while tiles stream in, at most this often (ms), except the one that completes the view.
constexpr int kLoadingFrameMs = 40;
}  // namespace

SlideView::SlideView(ImageDocument* document, TileService* tiles, QWidget* parent)
    : QWidget(parent),
      document_(document),
      tiles_(tiles),
      client_(tiles->loader().newClient()),
      renderer_(std::make_unique<SceneRenderer>(document, tiles)),
      loadingRepaint_(new QTimer(this)) {
    patientDetailsShown_ = savedPatientDetailsShown();
    setFocusPolicy(Qt::StrongFocus);
    setMouseTracking(true);
    setAttribute(Qt::WA_OpaquePaintEvent);
    setMinimumSize(200, 150);
    grabGesture(Qt::PinchGesture);
    const ImageInfo& info = document_->info();
    geometry_.centreX = info.width() / 2.0;
    geometry_.centreY = info.height() / 2.0;

    // The coarsest level is the backdrop while finer tiles load: fetch it now and keep it.
    const bool pin = info.sliceCount == 1;
    for (const TileKey& key : coarsestTiles())
        tiles_->loader().fetch(document_->source(), key, pin);

    loadingRepaint_->setSingleShot(true);
    connect(loadingRepaint_, &QTimer::timeout, this, qOverload<>(&QWidget::update));
    connect(tiles_, &TileService::tileArrived, this, [this](quint64 id) {
        if (id == document_->source()->id()) tileArrived();
    });
    connect(tiles_, &TileService::tileFailed, this, [this](quint64 id, const QString& message) {
        if (id != document_->source()->id() || reportedError_) return;
        reportedError_ = true;
        emit tileError(message);
    });
    connect(document_, &ImageDocument::sliceChanged, this, [this] {
        update();
        emit viewChanged();
    });
    connect(document_, &ImageDocument::windowChanged, this, [this] {
        update();
        emit viewChanged();
    });
}

SlideView::~SlideView() {
    // The overlay's owner (a child, deleted after this) may detach it then: nothing is left here.
    overlay_ = nullptr;
    tiles_->loader().cancel(client_);
}

void SlideView::tileArrived() {
    // Every paint takes the GUI thread's core from the decoders (a 1080p paint is several ms), so
    // while the view fills in it is repainted at most every kLoadingFrameMs; the tile that
    // completes it is painted at once. A view already complete waits for no tile: these are
    // prefetches, and a move has asked for its own paint.
    if (fullyLoaded_ || !sinceLastPaint_.isValid()) {
        if (!fullyLoaded_) update();
        return;
    }
    TileCache& cache = tiles_->cache();
    const bool complete = std::all_of(missing_.begin(), missing_.end(),
                                      [&](const TileKey& key) { return cache.contains(key); });
    const qint64 since = sinceLastPaint_.elapsed();
    if (complete || since >= kLoadingFrameMs) {
        loadingRepaint_->stop();
        update();
    } else if (!loadingRepaint_->isActive()) {
        loadingRepaint_->start(static_cast<int>(kLoadingFrameMs - since));
    }
}

std::vector<TileKey> SlideView::coarsestTiles() const {
    const ImageInfo& info = document_->info();
    const int level = static_cast<int>(info.levels.size()) - 1;
    const Level& lv = info.level(level);
    return tilesInRect(info, document_->source()->id(), document_->slice(), level,
                       {0, 0, double(lv.width), double(lv.height)}, kTileSize);
}

QPointF SlideView::imageToScreen(QPointF p) const {
    const PointF s = geometry_.toScreen({p.x(), p.y()});
    return {s.x, s.y};
}

QPointF SlideView::screenToImage(QPointF p) const {
    const PointF s = geometry_.toImage({p.x(), p.y()});
    return {s.x, s.y};
}

void SlideView::setOverlay(SlideOverlay* overlay) {
    for (Layer* layer : overlayLayers_) renderer_->removeLayer(layer);
    overlay_ = overlay;
    overlayLayers_ = overlay ? overlay->layers() : std::vector<Layer*>{};
    for (Layer* layer : overlayLayers_) renderer_->addLayer(layer, SceneRenderer::kAnalysisDepth);
    update();
}

double SlideView::minScale() const {
    ViewGeometry g = geometry_;
    g.fit(double(document_->info().width()), double(document_->info().height()));
    return g.scale / 4.0;
}

double SlideView::maxScale() const {
    ViewGeometry g = geometry_;
    g.fit(double(document_->info().width()), double(document_->info().height()));
    return std::max(8.0, g.scale * 2.0);  // 8x past 1:1 for slides; small MRI slices may grow more
}

void SlideView::changed() {
    geometry_.scale = std::clamp(geometry_.scale, minScale(), maxScale());
    geometry_.clampCentre(double(document_->info().width()), double(document_->info().height()));
    update();
    emit viewChanged();
}

void SlideView::setCentre(double x, double y) {
    fitMode_ = false;
    geometry_.centreX = x;
    geometry_.centreY = y;
    changed();
}

void SlideView::setScale(double scale) {
    fitMode_ = false;
    geometry_.scale = scale;
    changed();
}

void SlideView::zoomAt(QPointF screen, double factor) {
    fitMode_ = false;
    const double target = std::clamp(geometry_.scale * factor, minScale(), maxScale());
    geometry_.zoomAt({screen.x(), screen.y()}, target / geometry_.scale);
    changed();
}

void SlideView::zoomBy(double factor) { zoomAt(QPointF(width() / 2.0, height() / 2.0), factor); }

void SlideView::fitToWindow() {
    geometry_.viewWidth = std::max(width(), 1);
    geometry_.viewHeight = std::max(height(), 1);
    geometry_.fit(double(document_->info().width()), double(document_->info().height()));
    fitMode_ = true;
    changed();
}

void SlideView::showActualPixels() { setScale(1.0); }

void SlideView::rotateClockwise() {
    geometry_.rotateClockwise();
    if (fitMode_) fitToWindow();
    changed();
}

void SlideView::panByScreen(double dx, double dy) {
    fitMode_ = false;
    geometry_.panByScreen(dx, dy);
    changed();
}

std::optional<double> SlideView::magnification() const {
    if (const auto power = document_->info().objectivePower) return *power * geometry_.scale;
    return std::nullopt;
}

void SlideView::setMagnification(double magnification) {
    if (const auto power = document_->info().objectivePower) setScale(magnification / *power);
}

void SlideView::resizeEvent(QResizeEvent*) {
    geometry_.viewWidth = std::max(width(), 1);
    geometry_.viewHeight = std::max(height(), 1);
    const int tilesPerScreen = (width() / kTileSize + 2) * (height() / kTileSize + 2);
    const int tileKiB = kTileSize * kTileSize * 4 / 1024;
    renderer_->imageLayer().setDisplayCacheKiB(
        std::max(kMinDisplayCacheKiB, kDisplayScreens * tilesPerScreen * tileKiB));
    // Until the user moves the view, it follows the window's size (layouts settle in steps).
    if (fitMode_) {
        fitToWindow();
        return;
    }
    changed();
}

void SlideView::paintEvent(QPaintEvent*) {
    QElapsedTimer timer;
    timer.start();
    sinceLastPaint_.start();
    geometry_.viewWidth = std::max(width(), 1);
    geometry_.viewHeight = std::max(height(), 1);
    QPainter painter(this);
    renderer_->paint(painter, geometry_);

    const ImageLayer& image = renderer_->imageLayer();
    displayedLevel_ = image.lastLevel();
    const auto layers = renderer_->layers();
    fullyLoaded_ = image.complete() && std::all_of(layers.begin(), layers.end(), [](Layer* l) {
                       return !l->isVisible() || l->opacity() <= 0 || l->paintedComplete();
                   });
    missing_ = image.missing();
    // Neighbours only once the view is complete: before, they would take cores from its own tiles.
    tiles_->loader().request(client_, document_->source(),
                             image.complete() ? image.prefetch() : image.wanted(),
                             tiles_->notifier());

    // On screen only, never in a render for export: it names the patient.
    if (document_->isGray() || document_->info().sliceCount > 1) drawDicomText(painter);
    lastPaintMs_ = double(timer.nsecsElapsed()) / 1e6;
}

void SlideView::setPatientDetailsShown(bool shown) {
    if (patientDetailsShown_ == shown) return;
    patientDetailsShown_ = shown;
    update();
}

void SlideView::drawDicomText(QPainter& painter) const {
    const ImageInfo& info = document_->info();
    auto prop = [&](const char* key) {
        return QString::fromStdString(info.property(key).value_or(""));
    };
    QStringList left, right;
    if (patientDetailsShown_)
        for (const char* key : {"dicom.PatientName", "dicom.PatientID", "dicom.PatientBirthDate"})
            if (!prop(key).isEmpty()) left << prop(key);
    for (const char* key :
         {"dicom.StudyDescription", "dicom.StudyDate", "dicom.SeriesDescription", "dicom.Modality"})
        if (!prop(key).isEmpty()) right << prop(key);
    QStringList bottom;
    if (info.sliceCount > 1)
        bottom << tr("Slice %1 / %2").arg(document_->slice() + 1).arg(info.sliceCount);
    if (document_->isGray())
        bottom << tr("W %1  L %2")
                      .arg(document_->window().width, 0, 'f', 0)
                      .arg(document_->window().centre, 0, 'f', 0);
    painter.setPen(QColor(240, 240, 160));
    const QRect area = rect().adjusted(10, 8, -10, -8);
    painter.drawText(area, Qt::AlignLeft | Qt::AlignTop, left.join('\n'));
    painter.drawText(area, Qt::AlignRight | Qt::AlignTop, right.join('\n'));
    painter.drawText(area, Qt::AlignRight | Qt::AlignBottom, bottom.join('\n'));
}

void SlideView::wheelEvent(QWheelEvent* e) {
    const double steps = e->angleDelta().y() / 120.0;
    if (steps == 0) return;
    if (e->modifiers() & Qt::ControlModifier) {  // slices, as in radiology viewers
        document_->setSlice(document_->slice() + (steps > 0 ? -1 : 1));
    } else {
        zoomAt(e->position(), std::pow(kWheelStep, steps));
    }
    e->accept();
}

void SlideView::mousePressEvent(QMouseEvent* e) {
    lastMouse_ = e->position();
    if (e->button() == Qt::LeftButton)
        drag_ = Drag::Pan;
    else if (e->button() == Qt::RightButton && document_->isGray())
        drag_ = Drag::Window;
    if (drag_ == Drag::Pan) setCursor(Qt::ClosedHandCursor);
}

void SlideView::mouseMoveEvent(QMouseEvent* e) {
    const QPointF d = e->position() - lastMouse_;
    lastMouse_ = e->position();
    if (drag_ == Drag::Pan) {
        panByScreen(d.x(), d.y());
    } else if (drag_ == Drag::Window) {
        // Right-drag: horizontal widens/narrows the window, vertical moves its centre.
        const Window& w = document_->window();
        const double width = w.width * std::exp(d.x() / 200.0);
        document_->setWindow(w.centre + d.y() * w.width / 200.0, width);
    }
    const QPointF p = screenToImage(e->position());
    const bool inside = p.x() >= 0 && p.y() >= 0 && p.x() < document_->info().width() &&
                        p.y() < document_->info().height();
    emit cursorMoved(p, inside);
}

void SlideView::mouseReleaseEvent(QMouseEvent*) {
    drag_ = Drag::None;
    unsetCursor();
}

void SlideView::mouseDoubleClickEvent(QMouseEvent* e) {
    zoomAt(e->position(), e->button() == Qt::RightButton ? 0.5 : 2.0);
}

void SlideView::keyPressEvent(QKeyEvent* e) {
    const double stepX = width() / 8.0, stepY = height() / 8.0;
    switch (e->key()) {
        case Qt::Key_Left:
            panByScreen(stepX, 0);
            break;
        case Qt::Key_Right:
            panByScreen(-stepX, 0);
            break;
        case Qt::Key_Up:
            panByScreen(0, stepY);
            break;
        case Qt::Key_Down:
            panByScreen(0, -stepY);
            break;
        case Qt::Key_Plus:
        case Qt::Key_Equal:
            zoomBy(kWheelStep);
            break;
        case Qt::Key_Minus:
            zoomBy(1 / kWheelStep);
            break;
        case Qt::Key_PageUp:
            document_->setSlice(document_->slice() - 1);
            break;
        case Qt::Key_PageDown:
            document_->setSlice(document_->slice() + 1);
            break;
        default:
            QWidget::keyPressEvent(e);
            return;
    }
    e->accept();
}

bool SlideView::event(QEvent* e) {
    if (e->type() == QEvent::NativeGesture) {  // touchpad pinch
        auto* g = static_cast<QNativeGestureEvent*>(e);
        if (g->gestureType() == Qt::ZoomNativeGesture) {
            zoomAt(g->position(), 1.0 + g->value());
            return true;
        }
    } else if (e->type() == QEvent::Gesture) {  // touchscreen pinch
        auto* g = static_cast<QGestureEvent*>(e);
        if (auto* pinch = static_cast<QPinchGesture*>(g->gesture(Qt::PinchGesture))) {
            zoomAt(mapFromGlobal(pinch->centerPoint().toPoint()), pinch->scaleFactor());
            return true;
        }
    }
    return QWidget::event(e);
}

}  // namespace lucida::ui
