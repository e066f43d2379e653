#include "FigureProgress.h"

#include "SceneRenderer.h"

#include <algorithm>

namespace lucida::ui {

FigureProgress::FigureProgress(double totalPixels, Listener listener,
                               std::chrono::milliseconds interval)
    : listener_(std::move(listener)),
      interval_(interval),
      start_(std::chrono::steady_clock::now()),
      lastReport_(start_) {
    state_.total = std::max(1.0, totalPixels);
}

QImage FigureProgress::render(SceneRenderer& renderer, const ViewGeometry& view) {
    throwIfCancelled();
    // Each tile waited for is a share of the view's pixels; the paint is the last share.
    const double area = double(std::max(view.viewWidth, 1)) * std::max(view.viewHeight, 1);
    std::size_t tiles = 0;
    QImage out = renderer.render(view, [&](std::size_t, std::size_t total) {
        if (cancelled_) throw FigureCancelled();
        tiles = total;
        advance(area / double(total + 1));
    });
    advance(area / double(tiles + 1));
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
