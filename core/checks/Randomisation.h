#pragma once

#include "model/FloatTensor.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace lucida {

class Model;

// The model-randomisation sanity check (Adebayo et al. 2018, "Sanity checks for saliency maps"),
// cascading from the head down: the model is opened again (a copy), its parameter groups (one per
// block: "classifier", "features.3", "layer4.1", …) are replaced one after another, last first, by
// fixed-seed random values, and the image is explained again after each. A map that depends on
// what the model learned changes (low rank correlation); one that survives is an edge detector.

// One map [h, w] of one image [1, 3, H, W] under a model (the explanation being checked).
using MapOfModel = std::function<FloatTensor(const Model& model, const FloatTensor& image)>;

struct RandomisationStage {
    std::string block;    // the parameter group randomised at this stage (and all above it)
    double spearman = 0;  // rank correlation of the map with the original
    double ssim = 0;      // structural similarity with the original
};

struct RandomisationResult {
    std::vector<RandomisationStage> stages;  // head first
    bool dependsOnWeights = false;           // |rank correlation| fell below the threshold
    std::string verdict;                     // in plain words
};

struct RandomisationOptions {
    std::uint64_t seed = 1;
    double threshold = 0.3;  // |Spearman| below this: the map changed
    int maxStages = 0;       // 0: every block
    // Called after each stage with (done, total); returning true cancels (std::runtime_error
    // "cancelled" is thrown).
    std::function<bool(int, int)> progress;
};

// The parameter groups of `model`, from the head down: the dotted name up to and including its
// first numeric part ("layer4.1.conv1.weight" → "layer4.1", "fc.bias" → "fc").
std::vector<std::string> parameterBlocks(const Model& model);

// Runs the cascade on a fresh copy of `model` (opened from its path). Maps are compared at the
// image's resolution (bilinear upsampling, CamMaps.h).
RandomisationResult cascadingRandomisation(const Model& model, const FloatTensor& image,
                                           const MapOfModel& mapOf,
                                           const RandomisationOptions& options = {});

// The explanation `method` (at `layer`, for the class `classIndex` or the predicted one) as a
// MapOfModel.
MapOfModel explanationMap(const std::string& method, const std::string& layer = {},
                          int classIndex = -1);

}  // namespace lucida
