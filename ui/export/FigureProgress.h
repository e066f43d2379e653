#pragma once
// How far one figure export has got, and its cancel switch: shared by the worker thread that
// renders and encodes the figure and the GUI that shows a progress bar. Renders wait for their
// tiles through it one by one, so every decoded tile moves the bar and a cancel is seen within a
// tile; the encoder's output device stops at the next write. Work is counted in output pixels
// (the panels' and the overview's areas), so the rate and ETA read as megapixels per second.

#include <QImage>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <stdexcept>

namespace lucida {
struct ViewGeometry;
}

namespace lucida::ui {

class SceneRenderer;

// Thrown out of rendering or encoding once an export is cancelled; nothing has been written.
class FigureCancelled : public std::runtime_error {
public:
    FigureCancelled() : std::runtime_error("figure export cancelled") {}
};

class FigureProgress {
public:
    enum class Stage { Rendering, Encoding, Done };
    struct State {
        Stage stage = Stage::Rendering;
        double done = 0;   // output pixels rendered
        double total = 1;  // output pixels to render
        double encodedBytes = 0;
        double seconds = 0;  // since the export started
    };
    // Called on the worker thread at most every `interval` and at every change of stage.
    using Listener = std::function<void(const State&)>;

    FigureProgress(double totalPixels, Listener listener,
                   std::chrono::milliseconds interval = std::chrono::milliseconds(50));

    void cancel() { cancelled_ = true; }  // any thread
    bool isCancelled() const { return cancelled_; }
    void throwIfCancelled() const {
        if (cancelled_) throw FigureCancelled();
    }

    // `view` rendered by `renderer` (SceneRenderer::render: the visible tiles waited for and held,
    // so a cache smaller than the figure does not make them decode twice), each tile counted and
    // cancel checked between them.
    QImage render(SceneRenderer& renderer, const ViewGeometry& view);

    void setStage(Stage stage);
    void addEncodedBytes(double bytes);
    State state() const;

private:
    void advance(double pixels);
    void report(bool force);

    std::atomic<bool> cancelled_{false};
    Listener listener_;
    std::chrono::milliseconds interval_;
    std::chrono::steady_clock::time_point start_, lastReport_;
    mutable std::mutex mutex_;
    State state_;
};

}  // namespace lucida::ui
