#pragma once

#include <functional>

#include "ImageLayer.h"
#include "Layer.h"
#include "ScaleBarLayer.h"

#include <QColor>
#include <QImage>

#include <vector>

class QPainter;

namespace lucida::ui {

class ImageDocument;
class TileService;

// The one renderer of what lies over a slide: an ordered stack of layers (the image, the
// analysis' heat and tissue outlines, annotations, the scale bar) painted for a ViewGeometry,
// either into a view or off-screen into an image of any size. The view paints from the cache
// only; off-screen renders first wait for their tiles from the same loader and cache the views
// use (no second loader). Export and annotations plug in here.
class SceneRenderer {
public:
    // The stack's slots, bottom first; layers of one depth paint in the order they were added.
    static constexpr int kImageDepth = 0;
    static constexpr int kAnalysisDepth = 100;    // heat, then tissue outlines
    static constexpr int kAnnotationDepth = 200;  // next
    static constexpr int kDecorationDepth = 300;  // scale bar, legend

    SceneRenderer(ImageDocument* document, TileService* tiles);
    SceneRenderer(const SceneRenderer&) = delete;
    SceneRenderer& operator=(const SceneRenderer&) = delete;

    ImageLayer& imageLayer() { return image_; }
    ScaleBarLayer& scaleBarLayer() { return scaleBar_; }
    void addLayer(Layer* layer, int depth);  // not owned: remove it before it goes
    void removeLayer(Layer* layer);
    std::vector<Layer*> layers() const;  // bottom first

    QColor background() const { return background_; }
    void setBackground(const QColor& colour) { background_ = colour; }

    // Paints the stack for `view` on `painter`, whose device is view.viewWidth x viewHeight,
    // from what is cached: it neither decodes nor waits (the GUI thread's view path). The image
    // layer says afterwards which tiles were missing.
    void paint(QPainter& painter, const ViewGeometry& view);
    // Just `layers` (bottom first) for `view`, over what the painter's device holds: for layers
    // drawn without an image (previews, tests). Off-screen: prepares them first (may wait).
    static void paintLayers(QPainter& painter, const std::vector<Layer*>& layers,
                            const ViewGeometry& view);

    // Off-screen, without a window: the stack for `view` in a new image of the view's size, once
    // the visible tiles of the best level are decoded (by the loader's threads, coalesced with any
    // view's requests; a tile that fails shows what is cached of coarser levels). Blocks: call it
    // on the thread that owns the layers, and keep the view small or the wait is long.
    // `onTile(done, total)` is called after each tile is waited for (progress; it may throw to
    // stop the render).
    using TileProgress = std::function<void(std::size_t done, std::size_t total)>;
    QImage render(const ViewGeometry& view, const TileProgress& onTile = {});
    // `region` (level-0 pixels, unrotated) at `size`: scaled to fit, centred.
    QImage renderRegion(const RectF& region, QSize size);

private:
    static void prepareLayers(const std::vector<Layer*>& layers, const ViewGeometry& view);
    static void paintStack(QPainter& painter, const std::vector<Layer*>& layers,
                           const ViewGeometry& view);

    struct Entry {
        Layer* layer;
        int depth;
    };

    ImageDocument* document_;
    TileService* tiles_;
    ImageLayer image_;
    ScaleBarLayer scaleBar_;
    std::vector<Entry> stack_;  // sorted by depth
    QColor background_{0x2b, 0x2b, 0x2b};
};

}  // namespace lucida::ui
