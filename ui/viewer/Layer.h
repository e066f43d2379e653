#pragma once

#include "tiles/ViewGeometry.h"

#include <QRectF>
#include <QTransform>

#include <algorithm>
#include <vector>

class QPainter;

namespace lucida::ui {

// One render of the layer stack as a layer sees it. `view` is the single level-0 <-> target
// mapping (ViewGeometry, rotation included). Layers in image space draw in `frame`, the same view
// unrotated (the renderer turns the painter for the quarter turns), so level-0 point p lands at
// frame.toScreen(p); layers in target space (a scale bar) draw in the target's own pixels.
struct LayerContext {
    ViewGeometry view;
    ViewGeometry frame;
    RectF visible;       // the level-0 rectangle on the target
    QRectF frameBounds;  // the target in frame coordinates: (0, 0, frame width, frame height)

    static LayerContext of(const ViewGeometry& view);
    // Level-0 pixels to frame coordinates, for drawing vector shapes and images in image space.
    QTransform imageToFrame() const;
};

// Something the renderer paints: the image, heat, tissue outlines, annotations, a scale bar.
// Painting draws what is prepared (it runs on the GUI thread at every paint of a view): no
// decoding, no colourising of whole rasters, no waiting.
class Layer {
public:
    enum class Space { Image, Target };

    virtual ~Layer() = default;
    // The renderer has set the painter for space() and opacity(); it restores it afterwards.
    virtual void paint(QPainter& painter, const LayerContext& context) = 0;
    virtual Space space() const { return Space::Image; }
    // Off-screen renders call this before paint(): make or wait for what paint() will need (it
    // may block; never called on a view's paint path).
    virtual void prepareOffscreen(const LayerContext&) {}
    // After the last paint: whether everything it should show was ready (a view is fully loaded
    // only when every layer's was).
    virtual bool paintedComplete() const { return true; }

    bool isVisible() const { return visible_; }
    void setVisible(bool visible) { visible_ = visible; }
    double opacity() const { return opacity_; }
    void setOpacity(double opacity) { opacity_ = std::clamp(opacity, 0.0, 1.0); }

private:
    bool visible_ = true;
    double opacity_ = 1.0;
};

// What a view attaches in one piece above the image (the analysis: heat, then tissue outlines).
class SlideOverlay {
public:
    virtual ~SlideOverlay() = default;
    virtual std::vector<Layer*> layers() = 0;  // bottom first
};

inline LayerContext LayerContext::of(const ViewGeometry& view) {
    LayerContext c;
    c.view = view;
    c.frame = view;
    c.frame.quarterTurns = 0;
    if (view.quarterTurns % 2 == 1) std::swap(c.frame.viewWidth, c.frame.viewHeight);
    c.visible = view.visibleImageRect();
    c.frameBounds = QRectF(0, 0, c.frame.viewWidth, c.frame.viewHeight);
    return c;
}

inline QTransform LayerContext::imageToFrame() const {
    const PointF origin = frame.toScreen({0, 0});
    return QTransform(frame.scale, 0, 0, frame.scale, origin.x, origin.y);
}

}  // namespace lucida::ui
