#pragma once
// One image's long-lived analysis thread, with TileLoader's contract: the newest request wins.
// No Qt and no LibTorch: the model runs behind the engine plugin (engine/ModelEngine.h).

#include "analysis/SlideAnalysis.h"

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace lucida {

// How a request ended. Superseded requests have no end: only the newest is published.
struct AnalysisEnd {
    enum class State { Complete, Cancelled, Failed };
    std::uint64_t generation = 0;
    State state = State::Cancelled;
    std::shared_ptr<const SlideAnalysis> analysis;  // what is done; null when failed
    std::string error;  // when failed: the reason, naming the file (empty: none known)
};

// One analysis to run: what, where from, and the request's own listeners.
struct AnalysisRequest {
    std::shared_ptr<const ImageSource> source;
    std::shared_ptr<const Model> model;
    AnalysisSettings settings;
    std::string resultsRoot;
    TileLoader* tiles = nullptr;  // the view's loader: patches share the screen's tile cache
    bool wholeSlide = true;       // false: the patches in `focus` only (live), until widened
    std::optional<std::array<double, 4>> focus;  // level-0 {x, y, width, height} on screen
    // onLoaded, onWaiting, onProgress, onBatch and onIdle, called on the worker thread while this
    // request is the newest (its cancelled, focus, wholeSlide, wake and tiles are the worker's).
    AnalysisCallbacks callbacks;
    // On the worker thread before the analysis starts (and before any callback): this request's
    // generation, for the callbacks' publish() calls.
    std::function<void(std::uint64_t generation)> onStarted;
    // Once, on the worker thread, when the analysis returned — unless a newer request came.
    std::function<void(const AnalysisEnd&)> onFinished;
};

// Runs one analysis at a time on a thread of its own, started by the first request and joined by
// the destructor. request() replaces what was asked before: a running analysis stops at its next
// batch (AnalysisCallbacks::cancelled) and the new one starts; cancel() stops the current one,
// which then ends Cancelled. Each request has a generation; only the newest one's callbacks run,
// and handing results on through publish() makes that strict (nothing of a superseded request is
// delivered once request() has returned). Idle, the thread sleeps on a condition variable; an idle
// live analysis sleeps on its AnalysisWake, which setFocus/widen/cancel/request notify.
class InferenceWorker {
public:
    using Generation = std::uint64_t;
    // The analysis itself; default: modelEngine().analyseSlide (loads the LibTorch plugin).
    using Analyse = std::function<SlideAnalysis(const AnalysisRequest&, const AnalysisCallbacks&)>;

    explicit InferenceWorker(Analyse analyse = {});
    ~InferenceWorker();  // cancels; returns once the current batch is done and the thread joined
    InferenceWorker(const InferenceWorker&) = delete;
    InferenceWorker& operator=(const InferenceWorker&) = delete;

    // Supersedes any earlier request; returns this one's generation.
    Generation request(AnalysisRequest request);
    // The current request stops at its next batch (what is done is kept) and ends Cancelled.
    void cancel();
    // Steer the newest request: patches in view first; live scope widened to every patch.
    void setFocus(const std::array<double, 4>& rect);
    void widenToWholeSlide();

    // Runs `deliver` only while `generation` is the newest request, under the lock request()
    // takes: keep it short (post to another thread). Returns whether it ran.
    bool publish(Generation generation, const std::function<void()>& deliver);
    bool isCurrent(Generation generation) const;
    // A request is waiting or running (a live one waiting for the view counts).
    bool busy() const;
    // Called on the worker thread each time it has run what was asked and sleeps again.
    void setOnDrained(std::function<void()> onDrained);
    // How often the thread woke from its idle wait (tests: an idle worker does not poll).
    std::uint64_t wakeUps() const { return wakeUps_.load(); }

private:
    struct Job;
    void loop();
    void run(Job& job);
    AnalysisCallbacks callbacksFor(Job& job);

    Analyse analyse_;
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    bool stopping_ = false;
    Generation generation_ = 0;
    std::atomic<Generation> newest_{0};  // generation_, read without the lock (a quick check)
    std::shared_ptr<Job> pending_, current_;
    std::function<void()> onDrained_;
    std::atomic<std::uint64_t> wakeUps_{0};
    std::thread thread_;
};

}  // namespace lucida
