#include "TrainingWorker.h"

#include "engine/ModelEngine.h"
#include "model/AllocatorMode.h"

#include <QCoreApplication>
#include <QThread>

#include <exception>

namespace lucida::ui {

TrainingWorker::TrainingWorker(TrainOptions options) : options_(std::move(options)) {}

TrainingWorker::~TrainingWorker() = default;

void TrainingWorker::registerMetaTypes() {
    qRegisterMetaType<lucida::BatchProgress>("lucida::BatchProgress");
    qRegisterMetaType<lucida::EpochRecord>("lucida::EpochRecord");
    qRegisterMetaType<lucida::TrainResult>("lucida::TrainResult");
}

void TrainingWorker::cancel() {
    std::lock_guard lock(mutex_);
    cancelled_ = true;
    if (trainer_) {
        trainer_->cancel();
        trainer_->setPaused(false);  // a paused trainer must wake up to see the cancel
    }
}

void TrainingWorker::setPaused(bool paused) {
    std::lock_guard lock(mutex_);
    paused_ = paused;
    if (trainer_) trainer_->setPaused(paused);
}

void TrainingWorker::run() {
    const TensorWork tensorWork;  // malloc tuned for tensors while training runs
    TrainCallbacks callbacks;
    callbacks.onBatch = [this](const BatchProgress& p) {
        // Small models run hundreds of batches a second: the GUI needs a few updates a second.
        const auto now = std::chrono::steady_clock::now();
        if (p.batch < p.batches && now - lastBatchSignal_ < std::chrono::milliseconds(100)) return;
        lastBatchSignal_ = now;
        emit batchProgress(p);
    };
    callbacks.onEpoch = [this](const EpochRecord& r) { emit epochFinished(r); };
    callbacks.onMessage = [this](const std::string& m) { emit message(QString::fromStdString(m)); };

    try {
        const std::unique_ptr<Trainer> made = modelEngine().makeTrainer(options_);
        Trainer& trainer = *made;
        {
            std::lock_guard lock(mutex_);
            trainer_ = &trainer;
            if (paused_) trainer.setPaused(true);
            if (cancelled_) trainer.cancel();
        }
        struct Release {
            TrainingWorker* w;
            ~Release() {
                std::lock_guard lock(w->mutex_);
                w->trainer_ = nullptr;
            }
        } release{this};
        const TrainResult result = trainer.run(callbacks);
        emit finished(result);
    } catch (const std::exception& e) {
        emit failed(QString::fromStdString(e.what()));
    } catch (...) {
        emit failed(tr("Training failed with an unknown error."));
    }
    // Back to the GUI thread, so that the owner may delete it there once the thread is over.
    moveToThread(QCoreApplication::instance()->thread());
    emit done();
}

}  // namespace lucida::ui
