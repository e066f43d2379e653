#pragma once

#include "train/Trainer.h"

#include <QMetaType>
#include <QObject>
#include <QString>

#include <chrono>
#include <memory>
#include <mutex>

Q_DECLARE_METATYPE(lucida::BatchProgress)
Q_DECLARE_METATYPE(lucida::EpochRecord)
Q_DECLARE_METATYPE(lucida::TrainResult)

namespace lucida::ui {

// Runs lucida::Trainer on the thread it is moved to (run() is the thread's entry slot) and
// forwards the trainer's callbacks as signals, which reach GUI-thread receivers queued. cancel()
// and setPaused() are for the GUI thread: they reach the trainer under a lock, and are remembered
// when the trainer does not exist yet. The object outlives the run: the owner deletes it once the
// thread has finished.
class TrainingWorker : public QObject {
    Q_OBJECT
public:
    explicit TrainingWorker(TrainOptions options);
    ~TrainingWorker() override;

    void cancel();
    void setPaused(bool paused);

    static void registerMetaTypes();

public slots:
    void run();

signals:
    void batchProgress(const lucida::BatchProgress& progress);  // at most ~10 per second
    void epochFinished(const lucida::EpochRecord& record);
    void message(const QString& text);
    void finished(const lucida::TrainResult& result);
    void failed(const QString& error);  // names the file and reason, as the trainer says
    void done();  // after finished or failed; the owner quits the thread on this (direct)

private:
    TrainOptions options_;
    std::mutex mutex_;
    Trainer* trainer_ = nullptr;  // while run() holds one
    bool cancelled_ = false;
    bool paused_ = false;
    std::chrono::steady_clock::time_point lastBatchSignal_{};
};

}  // namespace lucida::ui
