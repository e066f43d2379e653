#pragma once

#include "model/FloatTensor.h"

#include <optional>
#include <string>
#include <vector>

namespace lucida {

class Model;

struct ExplainOptions {
    std::string method = "gradcam";
    std::optional<int> classIndex;  // nullopt: the predicted class
    std::string layer;              // empty: the model's default target layer
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
// the target activation only. Throws ModelError / std::invalid_argument with the reason.
std::vector<Explanation> explain(const Model& model, const FloatTensor& batch,
                                 const ExplainOptions& options);

}  // namespace lucida
