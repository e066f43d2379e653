#include "analysis/InferenceWorker.h"

#include "engine/ModelEngine.h"
#include "model/AllocatorMode.h"

#include <pthread.h>

#include <exception>
#include <utility>

namespace lucida {

// One request as the worker runs it: the flags request(), cancel() and the steering calls set
// while the analysis reads them between batches.
struct InferenceWorker::Job {
    Generation generation = 0;
    AnalysisRequest request;
    std::atomic<bool> cancelled{false};
    std::atomic<bool> wholeSlide{true};
    std::mutex focusMutex;
    std::optional<std::array<double, 4>> focus;
    AnalysisWake wake;  // an idle live analysis sleeps on it until something above changes

    void stop() {
        cancelled = true;
        wake.notify();
    }
};

namespace {

SlideAnalysis analyseWithEngine(const AnalysisRequest& r, const AnalysisCallbacks& callbacks) {
    return modelEngine().analyseSlide(*r.source, *r.model, r.settings, r.resultsRoot, callbacks);
}

}  // namespace

InferenceWorker::InferenceWorker(Analyse analyse)
    : analyse_(analyse ? std::move(analyse) : Analyse(analyseWithEngine)) {}

InferenceWorker::~InferenceWorker() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        if (pending_) pending_->stop();
        if (current_) current_->stop();
    }
    changed_.notify_all();
    if (thread_.joinable()) thread_.join();
}

InferenceWorker::Generation InferenceWorker::request(AnalysisRequest request) {
    auto job = std::make_shared<Job>();
    job->wholeSlide = request.wholeSlide;
    job->focus = request.focus;
    job->request = std::move(request);
    Generation generation = 0;
    std::shared_ptr<Job> replaced;  // destroyed after the lock: its callbacks are the caller's
    {
        std::lock_guard lock(mutex_);
        generation = job->generation = ++generation_;
        newest_ = generation_;
        if (current_) current_->stop();  // newest wins: the running one stops at its next batch
        replaced = std::exchange(pending_, std::move(job));  // one not yet started never runs
        if (!thread_.joinable()) thread_ = std::thread([this] { loop(); });
    }
    changed_.notify_all();
    return generation;
}

void InferenceWorker::cancel() {
    std::lock_guard lock(mutex_);
    if (pending_) pending_->stop();  // it still runs, to end Cancelled at once
    if (current_) current_->stop();
}

void InferenceWorker::setFocus(const std::array<double, 4>& rect) {
    std::lock_guard lock(mutex_);
    for (Job* job : {pending_.get(), current_.get()}) {
        if (!job) continue;
        {
            std::lock_guard focusLock(job->focusMutex);
            job->focus = rect;
        }
        job->wake.notify();
    }
}

void InferenceWorker::widenToWholeSlide() {
    std::lock_guard lock(mutex_);
    Job* newest = pending_ ? pending_.get() : current_.get();
    if (!newest || newest->generation != generation_) return;
    newest->wholeSlide = true;
    newest->wake.notify();
}

bool InferenceWorker::publish(Generation generation, const std::function<void()>& deliver) {
    std::lock_guard lock(mutex_);
    if (stopping_ || generation != generation_) return false;
    deliver();
    return true;
}

bool InferenceWorker::isCurrent(Generation generation) const {
    return generation == newest_.load();
}

bool InferenceWorker::busy() const {
    std::lock_guard lock(mutex_);
    return pending_ || current_;
}

void InferenceWorker::setOnDrained(std::function<void()> onDrained) {
    std::lock_guard lock(mutex_);
    onDrained_ = std::move(onDrained);
}

void InferenceWorker::loop() {
    pthread_setname_np(pthread_self(), "inference");
    std::unique_lock lock(mutex_);
    for (;;) {
        changed_.wait(lock, [this] { return stopping_ || pending_; });
        ++wakeUps_;
        if (stopping_) return;
        current_ = std::move(pending_);
        std::shared_ptr<Job> job = current_;
        lock.unlock();
        run(*job);
        lock.lock();
        current_.reset();
        // The job (and the caller's callbacks, which may wait for threads that publish()) goes
        // without the lock.
        lock.unlock();
        job.reset();
        lock.lock();
        if (!pending_ && onDrained_) {
            const auto drained = onDrained_;
            lock.unlock();
            drained();
            lock.lock();
        }
    }
}

AnalysisCallbacks InferenceWorker::callbacksFor(Job& job) {
    AnalysisCallbacks callbacks = job.request.callbacks;
    const Generation generation = job.generation;
    // The request's listeners hear nothing once a newer request has come.
    const auto whileNewest = [this, generation](auto listener) -> decltype(listener) {
        if (!listener) return {};
        return [this, generation, listener](const auto&... args) {
            if (isCurrent(generation)) listener(args...);
        };
    };
    callbacks.onLoaded = whileNewest(callbacks.onLoaded);
    callbacks.onWaiting = whileNewest(callbacks.onWaiting);
    callbacks.onProgress = whileNewest(callbacks.onProgress);
    callbacks.onBatch = whileNewest(callbacks.onBatch);
    callbacks.onIdle = whileNewest(callbacks.onIdle);
    callbacks.cancelled = [&job] { return job.cancelled.load(); };
    callbacks.wholeSlide = [&job] { return job.wholeSlide.load(); };
    callbacks.focus = [&job] {
        std::lock_guard lock(job.focusMutex);
        return job.focus;
    };
    callbacks.wake = &job.wake;
    callbacks.tiles = job.request.tiles;
    return callbacks;
}

void InferenceWorker::run(Job& job) {
    const TensorWork tensorWork;  // malloc tuned for tensors while this runs
    AnalysisEnd end;
    end.generation = job.generation;
    try {
        if (!job.cancelled) {
            if (job.request.onStarted) job.request.onStarted(job.generation);
            end.analysis =
                std::make_shared<const SlideAnalysis>(analyse_(job.request, callbacksFor(job)));
            end.state = end.analysis->complete() ? AnalysisEnd::State::Complete
                                                 : AnalysisEnd::State::Cancelled;
        }
    } catch (const std::exception& e) {
        end.state = AnalysisEnd::State::Failed;
        end.error = e.what();
    } catch (...) {
        end.state = AnalysisEnd::State::Failed;  // no reason known: error stays empty
    }
    if (job.request.onFinished && isCurrent(job.generation)) job.request.onFinished(end);
}

}  // namespace lucida
