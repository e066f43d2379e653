#include "CliTrain.h"
#include "CliInterrupt.h"

#include "engine/ModelEngine.h"
#include "train/Trainer.h"
#include "util/ProgressText.h"

#include <CLI/CLI.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>

namespace lucida::cli {

CLI::App* addTrainCommand(CLI::App& app, TrainOptions& o) {
    auto* cmd = app.add_subcommand(
        "train", "Train or fine-tune a classifier on a folder with one sub-folder per class");
    cmd->add_option("DATA", o.dataDir, "image folder, one sub-folder per class")->required();
    cmd->add_option("--out", o.outDir, "output folder (model, sidecar, report, curves, checkpoint)")
        ->required();
    cmd->add_option("--name", o.modelName, "file name stem of the outputs")->capture_default_str();
    cmd->add_flag("--overwrite", o.overwrite,
                  "replace the outputs of an earlier run with the same --name in --out (without "
                  "it, existing outputs are never replaced: the command stops before training)");
    cmd->add_option("--validation", o.validationDir,
                    "separate validation folder with the same class sub-folders");
    cmd->add_option("--validation-fraction", o.validationFraction,
                    "share of each class held out for validation when splitting")
        ->check(CLI::Range(0.0, 0.9))
        ->capture_default_str();
    cmd->add_option("--model", o.architecture,
                    "resnet18, resnet34, resnet50, smallcnn, or file (fine-tune --base)")
        ->check(CLI::IsMember({"resnet18", "resnet34", "resnet50", "smallcnn", "file"}))
        ->capture_default_str();
    cmd->add_option("--base", o.baseModel,
                    "model to fine-tune (Lucida-trained .pth or TorchScript .pt); implies "
                    "--model file")
        ->each([&o](const std::string&) { o.architecture = "file"; });
    cmd->add_option("--init", o.initWeights,
                    "torchvision ResNet .pth to start from (its fc is replaced)");
    cmd->add_option("--input-size", o.inputSize, "model input, pixels square")
        ->check(CLI::Range(16, 1024))
        ->capture_default_str();
    cmd->add_option("--binary", o.binaryOutput,
                    "two classes: sigmoid (one logit, BCEWithLogits) or softmax (cross-entropy)")
        ->check(CLI::IsMember({"sigmoid", "softmax"}))
        ->capture_default_str();
    cmd->add_option("--freeze-epochs", o.freezeBackboneEpochs,
                    "train only the new head for the first N epochs")
        ->capture_default_str();
    cmd->add_option("--epochs", o.epochs)->check(CLI::Range(1, 10000))->capture_default_str();
    cmd->add_option("--batch", o.batchSize)->check(CLI::Range(1, 4096))->capture_default_str();
    cmd->add_option("--optimizer", o.optimizer)
        ->check(CLI::IsMember({"adam", "adamw", "sgd"}))
        ->capture_default_str();
    cmd->add_option("--lr", o.learningRate, "learning rate")->capture_default_str();
    cmd->add_option("--weight-decay", o.weightDecay)->capture_default_str();
    cmd->add_option("--schedule", o.schedule, "cosine, step or none")
        ->check(CLI::IsMember({"cosine", "step", "none"}))
        ->capture_default_str();
    cmd->add_option("--step-epochs", o.stepEpochs, "step schedule: epochs per step")
        ->capture_default_str();
    cmd->add_option("--step-gamma", o.stepGamma, "step schedule: lr factor per step")
        ->capture_default_str();
    auto& a = o.augmentation;
    cmd->add_flag(
        "--flip", [&a](std::int64_t) { a.horizontalFlip = a.verticalFlip = true; },
        "random horizontal and vertical flips");
    cmd->add_flag("--rotate90", a.rotate90, "random 90 degree rotations");
    cmd->add_option("--crop-scale", a.cropScaleMin,
                    "random resized crop: smallest area share (1: off)")
        ->check(CLI::Range(0.05, 1.0));
    cmd->add_option("--colour-jitter", a.brightness,
                    "brightness/contrast/saturation jitter factor (hue a fifth of it); 0: off")
        ->each([&a](const std::string&) {
            a.contrast = a.saturation = a.brightness;
            a.hue = a.brightness / 5;
        });
    cmd->add_option("--he-jitter", a.heSigma,
                    "H&E stain jitter: scale sigma (bias a tenth of it); 0: off")
        ->each([&a](const std::string&) { a.heBias = a.heSigma / 10; });
    cmd->add_flag("--class-weights", o.classWeights, "weight the loss by inverse class frequency");
    cmd->add_option("--early-stop", o.earlyStoppingPatience,
                    "stop after N epochs without a better validation loss (0: off)")
        ->capture_default_str();
    cmd->add_option("--seed", o.seed)->capture_default_str();
    cmd->add_option("--threads", o.loaderThreads, "decoding threads (0: one per core)")
        ->capture_default_str();
    cmd->add_option("--resume", o.resumeFrom, "checkpoint (.checkpoint.pt) to continue from");
    cmd->add_option("--layer", o.targetLayer, "CAM target layer written to the sidecar");
    cmd->add_option("--mpp", o.micronsPerPixel,
                    "microns per pixel of the training images (written to the sidecar)");
    cmd->add_option("--magnification", o.magnification, "objective magnification of the images");
    return cmd;
}

int runTrain(const TrainOptions& options) {
    // Refused before anything is loaded (the trainer refuses too): an earlier model stays.
    if (!options.overwrite) {
        const bool resuming = !options.resumeFrom.empty();
        if (const auto existing = existingTrainingOutputs(options.outDir, options.modelName);
            !existing.empty() && !resuming) {
            std::cerr << "lucida-cli train: " << existing.front()
                      << " exists (an earlier training's output) and is not replaced: choose "
                         "another --name (e.g. --name "
                      << freeModelName(options.outDir, options.modelName)
                      << ") or pass --overwrite\n";
            return 2;
        }
    }
    const std::unique_ptr<Trainer> made = modelEngine().makeTrainer(options);  // loads LibTorch
    Trainer& trainer = *made;
    InterruptGuard interrupt;
    std::atomic<bool> done{false};
    // A signal handler may only set a flag and wake this thread, which turns it into a cancel; it
    // sleeps until Ctrl+C or the end of the run (no polling).
    std::thread watcher([&] {
        for (;;) {
            interrupt.waitForInterrupt();
            if (done) return;
            if (interrupt.take()) {
                std::cerr << "\ncancelling after this batch…\n";
                trainer.cancel();
            }
        }
    });
    struct JoinWatcher {
        std::atomic<bool>& done;
        InterruptGuard& interrupt;
        std::thread& watcher;
        ~JoinWatcher() {
            done = true;
            interrupt.wake();
            watcher.join();
        }
    } joinWatcher{done, interrupt, watcher};
    TrainCallbacks callbacks;
    callbacks.onMessage = [](const std::string& text) { std::cerr << text << "\n"; };
    callbacks.onBatch = [](const BatchProgress& p) {
        char line[80];
        std::snprintf(line, sizeof line, "\repoch %d/%d  loss %.4f  batch ", p.epoch, p.epochs,
                      p.loss);
        std::cerr << line
                  << progressText(static_cast<std::size_t>(p.batch),
                                  static_cast<std::size_t>(p.batches), p.imagesPerSecond, "images",
                                  p.secondsLeft)
                  << "   " << std::flush;
    };
    callbacks.onEpoch = [](const EpochRecord& r) {
        char line[300];
        std::snprintf(line, sizeof line,
                      "\repoch %d: train loss %.4f acc %.3f | val loss %.4f acc %.3f F1 %.3f "
                      "AUC %.3f | lr %.2g | %.1f images/s | %s%s\n",
                      r.epoch, r.trainLoss, r.trainAccuracy, r.validationLoss, r.validationAccuracy,
                      r.metrics.macroF1, r.metrics.rocAuc, r.learningRate, r.imagesPerSecond,
                      durationText(r.seconds).c_str(), r.best ? "  *best" : "");
        std::cerr << line;
    };
    const TrainResult result = trainer.run(callbacks);
    if (result.bestEpoch)
        std::cerr << "model: " << result.modelPath << " (epoch " << result.bestEpoch
                  << ")\nsidecar: " << result.sidecarPath << "\n";
    std::cerr << "report: " << result.reportPath << "\ncurves: " << result.curvesPath
              << "\ncheckpoint: " << result.checkpointPath << "\n";
    return result.outcome == TrainOutcome::Cancelled ? 1 : 0;
}

}  // namespace lucida::cli
