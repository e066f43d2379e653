#pragma once

#include "train/Augment.h"

#include <cstdint>
#include <string>

namespace lucida {

// Everything `lucida-cli train` and the training wizard let the user choose.
struct TrainOptions {
    // Data: `dataDir` with a sub-folder per class, split with `validationFraction` and `seed`;
    // or `validationDir` with the same class folders.
    std::string dataDir;
    std::string validationDir;
    double validationFraction = 0.2;

    // Model: "resnet18", "resnet34", "resnet50", "smallcnn", or "file" to fine-tune `baseModel`
    // (a Lucida-trained model or TorchScript). `initWeights`: a torchvision ResNet .pth to
    // start from (its fc is replaced); empty trains from scratch.
    std::string architecture = "resnet18";
    std::string baseModel;
    std::string initWeights;
    int inputSize = 224;
    // Two classes: "sigmoid" (one logit, BCEWithLogits) or "softmax" (cross-entropy); more than
    // two classes always use softmax.
    std::string binaryOutput = "sigmoid";
    int freezeBackboneEpochs = 0;  // only the new head trains for the first N epochs

    int epochs = 10;
    int batchSize = 32;
    std::string optimizer = "adamw";  // "adam", "adamw", "sgd" (momentum 0.9)
    double learningRate = 1e-3;
    double weightDecay = 1e-4;
    std::string schedule = "cosine";  // "cosine", "step", "none"
    int stepEpochs = 5;               // step schedule: lr *= stepGamma every stepEpochs
    double stepGamma = 0.1;
    AugmentOptions augmentation;
    bool classWeights = false;      // weight the loss by inverse class frequency
    int earlyStoppingPatience = 0;  // epochs without a better validation loss; 0: off
    double minImprovement = 1e-4;   // a validation loss must drop by more to count as better
    std::uint64_t seed = 42;
    int loaderThreads = 0;  // 0: one per core

    // Outputs: `outDir` receives model.pth + model.json (sidecar), report.json, curves.png and
    // checkpoint.pt (for resume). `modelName` replaces "model" in the file names.
    std::string outDir;
    std::string modelName = "model";
    // Outputs of an earlier run with this name are never replaced unless this is set (or the run
    // resumes from this name's own checkpoint): run() refuses, naming the file
    // (existingTrainingOutputs, freeModelName in Trainer.h).
    bool overwrite = false;
    std::string resumeFrom;   // a checkpoint.pt to continue from
    std::string targetLayer;  // written to the sidecar; empty: the architecture's last block
    // The scale the images were taken at, written to the sidecar so the viewer reads slides at the
    // same scale (0: not known).
    double micronsPerPixel = 0;
    double magnification = 0;
};

}  // namespace lucida
