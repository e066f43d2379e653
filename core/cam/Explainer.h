#pragma once

#include "model/FloatTensor.h"

#include <optional>
#include <string>
#include <vector>

namespace lucida {

class Model;

// Arithmetic the model runs in. Float16 and BFloat16 use LibTorch's autocast (convolutions and
// matrix products in the lower precision, reductions in float32); the CAM formulas, maps, logits
// and probabilities are float32 whatever the choice. Float16 needs a CUDA device; BFloat16 runs
// on CUDA and on the CPU.
enum class Precision { Float32, Float16, BFloat16 };
Precision precisionFromName(const std::string& name);  // fp32, fp16, bf16; std::invalid_argument
std::string precisionName(Precision precision);

struct ExplainOptions {
    std::string method = "gradcam";
    std::optional<int> classIndex;  // nullopt: the predicted class
    std::string layer;              // empty: the model's default target layer
    Precision precision = Precision::Float32;
    // Smoothing (core/cam/CamSmoothing.h): the channel terms' first principal component instead of
    // their sum; the mean of the maps of the image and its three flips.
    bool eigenSmooth = false;
    bool augmentSmooth = false;
};

// One image's explanation: the raw map at the target layer's resolution (not normalised, not
// upsampled: see CamMaps.h) and the model's view of the image.
struct Explanation {
    std::vector<float> logits;
    std::vector<float> probabilities;
    int predictedClass = 0;
    int explainedClass = 0;
    std::string method;
    std::string layer;
    FloatTensor map;  // [h, w]
};

// Runs `options.method` on a normalised batch [N, 3, H, W]. Gradients flow from the class score to
// the target activation only. Throws ModelError / std::invalid_argument with the reason (e.g.
// Float16 on a CPU). See Batching.h for batches chosen to fit memory.
std::vector<Explanation> explain(const Model& model, const FloatTensor& batch,
                                 const ExplainOptions& options);

}  // namespace lucida
