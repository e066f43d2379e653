#pragma once

// The project's background queue: analyses its images one after another on a thread of its own
// (the engine's analyseSlide, as the viewer's controllers and `lucida-cli batch` do, into the same
// results), while the user views others. The image on screen keeps priority: while the viewer is
// busy (setYield), the queue stops at its next batch and waits, then goes on from the stored
// patches. Pause does the same on request; cancel stops after the current batch. A failed image is
// recorded with its reason (QueueSettings.h) and skipped; it never stops the queue.

#include "QueueSettings.h"

#include <QObject>
#include <QString>

#include <memory>
#include <vector>

namespace lucida::ui {

struct QueueItem {
    int id = 0;  // the caller's (a project row)
    QString path, resultsRoot;
    ImageSettings own;  // the image's own settings (a project's), over the queue's
};

struct QueueProgress {
    int finished = 0, total = 0;                    // images
    int current = -1;                               // the id of the image being analysed (-1: none)
    std::size_t patchesDone = 0, patchesTotal = 0;  // of the current image
    double patchesPerSecond = 0;                    // of the current image's run
    double imagesPerHour = 0;                       // of this queue, over its working time
    double secondsLeft = -1;                        // -1: not known yet
    bool held = false;                              // paused or yielding to the viewer
};

class AnalysisQueue : public QObject {
    Q_OBJECT
public:
    explicit AnalysisQueue(QObject* parent = nullptr);
    ~AnalysisQueue() override;  // cancels and waits for the current batch

    // Starts a queue of `items` with `settings` (a model is needed); false while one runs.
    bool start(const QueueSettings& settings, std::vector<QueueItem> items);
    void setPaused(bool paused);
    void setYield(bool yield);  // the viewer is busy: let it have the machine
    void cancel();
    bool isRunning() const { return running_; }
    bool isPaused() const;

    struct Shared;  // the worker's flags (AnalysisQueue.cpp)

signals:
    void progressChanged(const lucida::ui::QueueProgress& progress);
    // status: "done", "failed" (error says why) or "cancelled" (stopped in it; resumes later).
    void imageFinished(int id, const QString& status, const QString& error);
    void finished(bool cancelled);

private:
    void workerDone(bool cancelled);

    std::shared_ptr<Shared> shared_;
    bool running_ = false;
};

}  // namespace lucida::ui
