#pragma once

#include "checks/Faithfulness.h"
#include "checks/Randomisation.h"
#include "model/FloatTensor.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace lucida {

class Model;

// "Can this map be trusted?" for one image: the explanation, the cascading model-randomisation
// check and the deletion/insertion curves, as `lucida-cli check` and the viewer's Check This Map
// dialog run them (one code path, so both give the same numbers). Torch-free: the model runs
// through modelEngine().

struct MapCheckOptions {
    std::string method = "gradcam";
    std::string layer;                 // empty: the model's default target layer
    int classIndex = -1;               // -1: explain's default (the predicted class)
    int stages = 0;                    // randomisation stages from the head (0: every block)
    std::uint64_t seed = 1;            // of the random weights and of the random order
    FaithfulnessOptions faithfulness;  // its seed is set from `seed`, its progress from below
    // Called as the work goes on with (share done 0..1, what is running); returning true cancels
    // (std::runtime_error naming the check is thrown).
    std::function<bool(double, const std::string&)> progress;
};

struct MapCheckResult {
    std::string method, layer;
    std::vector<std::string> classes;  // the model's
    int explainedClass = 0;
    double probability = 0;  // of the explained class, on the unchanged image
    RandomisationResult randomisation;
    FaithfulnessResult faithfulness;
    std::string removal;  // removalName(faithfulness removal)
    std::uint64_t seed = 1;
};

// `input`: the image as the model sees it, [1, 3, H, W] (preprocess()).
MapCheckResult runMapCheck(const Model& model, const FloatTensor& input,
                           const MapCheckOptions& options);

// The files `lucida-cli check` writes: NAME.check.json (image and model as given, verdict,
// stages, curves with AUCs), NAME.randomisation.csv (block, spearman, ssim) and
// NAME.faithfulness.csv (share, deletion, insertion, random_deletion, random_insertion).
std::string mapCheckJson(const MapCheckResult& result, const std::string& image,
                         const std::string& model);
std::string randomisationCsv(const RandomisationResult& result);
std::string faithfulnessCsv(const FaithfulnessResult& result);

}  // namespace lucida
