#include "SceneRenderer.h"

#include "ImageDocument.h"
#include "TileService.h"

#include <QPainter>

#include <algorithm>
#include <future>

namespace lucida::ui {

namespace {

// Turns the painter from the target's pixels to the unrotated frame image-space layers draw in:
// the frame's centre on the target's centre, turned by the view's quarter turns.
void turnToFrame(QPainter& painter, const LayerContext& c) {
    painter.translate(c.view.viewWidth / 2.0, c.view.viewHeight / 2.0);
    painter.rotate(90.0 * c.view.quarterTurns);
    painter.translate(-c.frame.viewWidth / 2.0, -c.frame.viewHeight / 2.0);
}

}  // namespace

SceneRenderer::SceneRenderer(ImageDocument* document, TileService* tiles)
    : document_(document), tiles_(tiles), image_(document, tiles), scaleBar_(document) {
    addLayer(&image_, kImageDepth);
    addLayer(&scaleBar_, kDecorationDepth);
}

void SceneRenderer::addLayer(Layer* layer, int depth) {
    const auto after = std::upper_bound(stack_.begin(), stack_.end(), depth,
                                        [](int d, const Entry& e) { return d < e.depth; });
    stack_.insert(after, Entry{layer, depth});
}

void SceneRenderer::removeLayer(Layer* layer) {
    std::erase_if(stack_, [layer](const Entry& e) { return e.layer == layer; });
}

std::vector<Layer*> SceneRenderer::layers() const {
    std::vector<Layer*> out;
    for (const Entry& e : stack_) out.push_back(e.layer);
    return out;
}

void SceneRenderer::paint(QPainter& painter, const ViewGeometry& view) {
    painter.fillRect(QRectF(0, 0, view.viewWidth, view.viewHeight), background_);
    paintStack(painter, layers(), view);
}

void SceneRenderer::paintLayers(QPainter& painter, const std::vector<Layer*>& layers,
                                const ViewGeometry& view) {
    prepareLayers(layers, view);
    paintStack(painter, layers, view);
}

void SceneRenderer::prepareLayers(const std::vector<Layer*>& layers, const ViewGeometry& view) {
    const LayerContext c = LayerContext::of(view);
    for (Layer* layer : layers)
        if (layer->isVisible() && layer->opacity() > 0) layer->prepareOffscreen(c);
}

void SceneRenderer::paintStack(QPainter& painter, const std::vector<Layer*>& layers,
                               const ViewGeometry& view) {
    const LayerContext c = LayerContext::of(view);
    for (Layer* layer : layers) {
        if (!layer->isVisible() || layer->opacity() <= 0) continue;
        painter.save();
        if (layer->space() == Layer::Space::Image) turnToFrame(painter, c);
        painter.setOpacity(layer->opacity());
        layer->paint(painter, c);
        painter.restore();
    }
}

QImage SceneRenderer::render(const ViewGeometry& view, const TileProgress& onTile) {
    const TilePlan plan = image_.plan(view);
    // Queued all at once (the loader's threads decode them in parallel), waited for in order.
    std::vector<std::pair<TileKey, std::shared_future<TilePtr>>> pending;
    pending.reserve(plan.visible.size());
    for (const TileKey& key : plan.visible)
        pending.emplace_back(key, tiles_->loader().fetch(document_->source(), key));
    ImageLayer::HeldTiles held;
    std::size_t done = 0;
    for (auto& [key, future] : pending) {
        try {
            if (TilePtr tile = future.get()) held.emplace(key, std::move(tile));
        } catch (const std::exception&) {
            // Drawn as a view draws a tile that failed: the coarser levels behind it show.
        }
        // A throw here leaves the queued decodes coalesced with the views'; the cache keeps them.
        if (onTile) onTile(++done, pending.size());
    }
    prepareLayers(layers(), view);  // heat tiles, made by the heat layer's worker
    QImage out(std::max(view.viewWidth, 1), std::max(view.viewHeight, 1),
               QImage::Format_ARGB32_Premultiplied);
    QPainter painter(&out);
    image_.setHeldTiles(&held);
    try {
        paint(painter, view);
    } catch (...) {
        image_.setHeldTiles(nullptr);
        throw;
    }
    image_.setHeldTiles(nullptr);
    return out;
}

QImage SceneRenderer::renderRegion(const RectF& region, QSize size) {
    ViewGeometry view;
    view.viewWidth = std::max(size.width(), 1);
    view.viewHeight = std::max(size.height(), 1);
    view.centreX = region.x + region.width / 2;
    view.centreY = region.y + region.height / 2;
    view.scale = std::min(view.viewWidth / std::max(region.width, 1e-9),
                          view.viewHeight / std::max(region.height, 1e-9));
    return render(view);
}

}  // namespace lucida::ui
