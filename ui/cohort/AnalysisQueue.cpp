#include "AnalysisQueue.h"

#include "engine/ModelEngine.h"
#include "image/ImageSource.h"
#include "model/Model.h"

#include <QMetaObject>
#include <QPointer>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace lucida::ui {

using Clock = std::chrono::steady_clock;

// The worker's state, shared with the GUI thread: flags under one mutex, a condition the worker
// sleeps on while held.
struct AnalysisQueue::Shared {
    std::mutex mutex;
    std::condition_variable changed;
    bool paused = false, yield = false, cancelled = false;
    std::thread thread;

    bool held() {
        std::lock_guard lock(mutex);
        return paused || yield;
    }
    bool stopRequested() {  // polled between batches
        std::lock_guard lock(mutex);
        return cancelled || paused || yield;
    }
    // Sleeps while paused or yielding; false when cancelled. `heldSeconds` grows by the wait.
    bool waitUntilFree(double& heldSeconds) {
        const auto from = Clock::now();
        std::unique_lock lock(mutex);
        changed.wait(lock, [this] { return cancelled || !(paused || yield); });
        heldSeconds += std::chrono::duration<double>(Clock::now() - from).count();
        return !cancelled;
    }
    void set(bool Shared::*flag, bool value) {
        {
            std::lock_guard lock(mutex);
            this->*flag = value;
        }
        changed.notify_all();
    }
};

namespace {

// One queue run on the worker thread: each image until done, failed or cancelled.
class QueueRun {
public:
    QueueRun(std::shared_ptr<AnalysisQueue::Shared> shared, QueueSettings settings,
             std::vector<QueueItem> items, QPointer<AnalysisQueue> queue)
        : shared_(std::move(shared)),
          settings_(std::move(settings)),
          items_(std::move(items)),
          queue_(std::move(queue)) {}

    bool run() {  // true: cancelled
        started_ = Clock::now();
        progress_.total = static_cast<int>(items_.size());
        for (const QueueItem& item : items_) {
            if (shared_->held()) post(true);
            if (!shared_->waitUntilFree(heldSeconds_)) return true;
            progress_.current = item.id;
            progress_.patchesDone = progress_.patchesTotal = 0;
            post();
            const QString status = analyse(item);
            if (status == "cancelled") return true;
            ++progress_.finished;
            post();
        }
        return false;
    }

private:
    // Runs one image to its end; a hold stops it at a batch and it goes on from the store.
    QString analyse(const QueueItem& item) {
        QString status, error;
        try {
            const auto source = openProjectImage(item.path, item.own);
            const AnalysisSettings settings = imageAnalysisSettings(settings_, item.own);
            AnalysisCallbacks callbacks;
            callbacks.cancelled = [this] { return shared_->stopRequested(); };
            callbacks.onProgress = [this](const AnalysisProgress& p) {
                progress_.patchesDone = p.done;
                progress_.patchesTotal = p.total;
                progress_.patchesPerSecond = p.patchesPerSecond;
                post();
            };
            for (;;) {
                const SlideAnalysis a = modelEngine().analyseSlide(
                    *source, *settings_.model, settings, item.resultsRoot.toStdString(), callbacks);
                if (a.complete()) {
                    status = "done";
                    clearFailure(item.resultsRoot, item.path);
                    break;
                }
                post(true);
                if (!shared_->waitUntilFree(heldSeconds_)) {
                    status = "cancelled";
                    break;
                }
            }
        } catch (const std::exception& e) {
            status = "failed";
            error = QString::fromStdString(e.what());
            try {
                recordFailure(item.resultsRoot, item.path, imageSignature(settings_, item.own),
                              error);
            } catch (const std::exception&) {
                // The reason still shows; it is only not kept.
            }
        }
        QMetaObject::invokeMethod(queue_, [q = queue_, id = item.id, status, error] {
            if (q) emit q->imageFinished(id, status, error);
        });
        return status;
    }

    void post(bool held = false) {
        const double working =
            std::chrono::duration<double>(Clock::now() - started_).count() - heldSeconds_;
        const double fraction =
            (progress_.finished + (progress_.patchesTotal
                                       ? double(progress_.patchesDone) / progress_.patchesTotal
                                       : 0.0)) /
            std::max(1, progress_.total);
        progress_.held = held || shared_->held();
        progress_.imagesPerHour = working > 0 ? progress_.finished * 3600.0 / working : 0;
        progress_.secondsLeft =
            fraction > 0.01 && working > 1 ? working * (1 - fraction) / fraction : -1;
        QMetaObject::invokeMethod(queue_, [q = queue_, p = progress_] {
            if (q) emit q->progressChanged(p);
        });
    }

    std::shared_ptr<AnalysisQueue::Shared> shared_;
    QueueSettings settings_;
    std::vector<QueueItem> items_;
    QPointer<AnalysisQueue> queue_;
    QueueProgress progress_;
    Clock::time_point started_;
    double heldSeconds_ = 0;
};

}  // namespace

AnalysisQueue::AnalysisQueue(QObject* parent) : QObject(parent) {
    qRegisterMetaType<lucida::ui::QueueProgress>();
}

AnalysisQueue::~AnalysisQueue() {
    if (!shared_) return;
    shared_->set(&Shared::cancelled, true);
    if (shared_->thread.joinable()) shared_->thread.join();
}

bool AnalysisQueue::start(const QueueSettings& settings, std::vector<QueueItem> items) {
    if (running_ || !settings.model || items.empty()) return false;
    if (shared_ && shared_->thread.joinable()) shared_->thread.join();  // the last one has ended
    const bool yield = shared_ && shared_->yield;
    shared_ = std::make_shared<Shared>();
    shared_->yield = yield;
    running_ = true;
    shared_->thread = std::thread(
        [shared = shared_, settings, items = std::move(items), self = QPointer(this)]() mutable {
            const bool cancelled = QueueRun(shared, settings, std::move(items), self).run();
            QMetaObject::invokeMethod(self, [self, cancelled] {
                if (self) self->workerDone(cancelled);
            });
        });
    return true;
}

void AnalysisQueue::workerDone(bool cancelled) {
    running_ = false;
    if (shared_->thread.joinable()) shared_->thread.join();
    shared_->set(&Shared::paused, false);
    emit finished(cancelled);
}

void AnalysisQueue::setPaused(bool paused) {
    if (shared_) shared_->set(&Shared::paused, paused);
}

bool AnalysisQueue::isPaused() const {
    if (!shared_) return false;
    std::lock_guard lock(shared_->mutex);
    return shared_->paused;
}

void AnalysisQueue::setYield(bool yield) {
    if (!shared_) shared_ = std::make_shared<Shared>();
    shared_->set(&Shared::yield, yield);
}

void AnalysisQueue::cancel() {
    if (shared_) shared_->set(&Shared::cancelled, true);
}

}  // namespace lucida::ui
