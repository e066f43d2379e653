#pragma once

#include "train/ImageFolder.h"
#include "train/Metrics.h"
#include "train/TrainOptions.h"

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace lucida {

// One epoch's record, as the run page and report.json show it.
struct EpochRecord {
    int epoch = 0;  // 1-based
    double trainLoss = 0, trainAccuracy = 0;
    double validationLoss = 0, validationAccuracy = 0;
    double learningRate = 0;
    double seconds = 0;
    double imagesPerSecond = 0;  // training images per second of this epoch
    // Seconds the model waited for the input pipeline this epoch (decoding keeps ahead: ~0).
    double loaderWaitSeconds = 0;
    bool backboneFrozen = false;
    bool best = false;  // best validation loss so far (the checkpoint kept as the model)
    ClassificationMetrics metrics;  // on the validation set
};

// Progress within an epoch (called from the training thread).
struct BatchProgress {
    int epoch = 0;  // 1-based
    int epochs = 0;
    int batch = 0;  // 1-based, within the epoch
    int batches = 0;
    double loss = 0;  // running mean over the epoch so far
    double imagesPerSecond = 0;
    double secondsLeft = 0;  // whole run, estimated
};

struct TrainCallbacks {
    std::function<void(const BatchProgress&)> onBatch;
    std::function<void(const EpochRecord&)> onEpoch;
    std::function<void(const std::string&)> onMessage;  // notices (skipped files, device, resume)
};

enum class TrainOutcome { Finished, EarlyStopped, Cancelled };

struct TrainResult {
    TrainOutcome outcome = TrainOutcome::Finished;
    std::vector<EpochRecord> history;
    int bestEpoch = 0;      // 0: none completed
    std::string modelPath;  // weights of the best epoch (opens with Model::open)
    std::string sidecarPath;
    std::string reportPath;      // report.json
    std::string curvesPath;      // curves.png
    std::string checkpointPath;  // resume from here
    std::vector<std::string> classes;
    std::vector<SkippedFile> skipped;
    std::string device;
};

// The outputs of a run named `modelName` that exist in `outDir` already: the model (.pth, or .pt
// for TorchScript), its sidecar, report, curves and checkpoint. Empty: the name is free.
std::vector<std::string> existingTrainingOutputs(const std::string& outDir,
                                                 const std::string& modelName);

// `modelName` when it is free in `outDir`, else the first free "<stem>-2", "<stem>-3", … (the stem
// is the name without a "-<number>" ending: "model-2" taken gives "model-3").
std::string freeModelName(const std::string& outDir, const std::string& modelName);

// Fine-tunes a classifier on an image folder (TorchScript-free: native LibTorch modules with
// torchvision's parameter names). Runs on the calling thread; cancel() and pause() may be called
// from any thread. Cancel finishes the current batch, writes a checkpoint (resumable) and keeps
// the best model saved so far. Throws std::runtime_error (or FileError/ModelError) naming the file
// and reason for bad data or options, and FileError before training when an output of an earlier
// run would be replaced without TrainOptions::overwrite.
class Trainer {
public:
    // Programs make trainers through modelEngine().makeTrainer() (the LibTorch plugin); the
    // members are virtual so that callers need no symbol of it.
    explicit Trainer(TrainOptions options);
    virtual ~Trainer();

    virtual TrainResult run(const TrainCallbacks& callbacks = {});
    virtual void cancel();
    virtual void setPaused(bool paused);
    virtual bool paused() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace lucida
