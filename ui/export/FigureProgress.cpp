#include "FigureProgress.h"

#include "ImageDocument.h"
#include "SceneRenderer.h"
#include "TileService.h"
#include "tiles/TileLoader.h"

#include <QPainter>

#include <algorithm>
#include <future>

namespace lucida::ui {

FigureProgress::FigureProgress(double totalPixels, Listener listener,
                               std::chrono::milliseconds interval)
    : listener_(std::move(listener)),
      interval_(interval),
      start_(std::chrono::steady_clock::now()),
      lastReport_(start_) {
    state_.total = std::max(1.0, totalPixels);
}

QImage FigureProgress::render(SceneRenderer& renderer, const ViewGeometry& view,
                              const ImageDocument& document, TileService& tiles) {
    throwIfCancelled();
    const TilePlan plan = renderer.imageLayer().plan(view);
    // Queued all at once (the loader's threads decode them in parallel), waited for in order.
    std::vector<std::pair<TileKey, std::shared_future<TilePtr>>> pending;
    pending.reserve(plan.visible.size());
    for (const TileKey& key : plan.visible)
        pending.emplace_back(key, tiles.loader().fetch(document.source(), key));
    const double area = double(std::max(view.viewWidth, 1)) * std::max(view.viewHeight, 1);
    const double perTile = area / double(std::max<std::size_t>(1, pending.size()) + 1);
    ImageLayer::HeldTiles held;
    for (auto& [key, future] : pending) {
        if (cancelled_) {
            // The queued decodes stay coalesced with the views'; the cache keeps what they make.
            throw FigureCancelled();
        }
        try {
            if (TilePtr tile = future.get()) held.emplace(key, std::move(tile));
        } catch (const std::exception&) {
            // Drawn as a view draws a tile that failed: the coarser levels behind it show.
        }
        advance(perTile);
    }
    QImage out(std::max(view.viewWidth, 1), std::max(view.viewHeight, 1),
               QImage::Format_ARGB32_Premultiplied);
    {
        QPainter painter(&out);
        painter.fillRect(out.rect(), renderer.background());
        renderer.imageLayer().setHeldTiles(&held);
        try {
            // As SceneRenderer::render paints: the layers prepared off-screen (heat tiles made
            // and waited for), then painted, the image layer from the tiles held here.
            SceneRenderer::paintLayers(painter, renderer.layers(), view);
        } catch (...) {
            renderer.imageLayer().setHeldTiles(nullptr);
            throw;
        }
        renderer.imageLayer().setHeldTiles(nullptr);
    }
    advance(perTile);  // the paint: the last share
    return out;
}

void FigureProgress::advance(double pixels) {
    {
        std::lock_guard lock(mutex_);
        // Never past 99 % while rendering: renders not planned for may still come.
        state_.done = std::min(state_.done + pixels, state_.total * 0.99);
    }
    report(false);
}

void FigureProgress::setStage(Stage stage) {
    {
        std::lock_guard lock(mutex_);
        state_.stage = stage;
        if (stage != Stage::Rendering) state_.done = state_.total;
    }
    report(true);
}

void FigureProgress::addEncodedBytes(double bytes) {
    {
        std::lock_guard lock(mutex_);
        state_.encodedBytes += bytes;
    }
    report(false);
}

FigureProgress::State FigureProgress::state() const {
    std::lock_guard lock(mutex_);
    State s = state_;
    s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    return s;
}

void FigureProgress::report(bool force) {
    if (!listener_) return;
    const auto now = std::chrono::steady_clock::now();
    {
        std::lock_guard lock(mutex_);
        if (!force && now - lastReport_ < interval_) return;
        lastReport_ = now;
    }
    listener_(state());
}

}  // namespace lucida::ui
