#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

namespace lucida {

// How a model reads its output.
enum class OutputKind {
    SigmoidBinary,  // one logit; P(positive) = sigmoid(logit), classes = {negative, positive}
    Softmax,        // N logits; probabilities = softmax
};

// Grey images to the model's 3 channels.
enum class GreyToRgb { Replicate };

// What a model expects and means: the JSON sidecar beside the weights (model.pt -> model.json).
struct ModelSpec {
    std::string architecture;  // "torchscript", "resnet18" … "resnet152"
    std::vector<std::string> classes;
    int inputWidth = 224;
    int inputHeight = 224;
    std::array<float, 3> mean{0.485f, 0.456f, 0.406f};  // ImageNet, torchvision's default
    std::array<float, 3> std{0.229f, 0.224f, 0.225f};
    GreyToRgb greyToRgb = GreyToRgb::Replicate;
    std::optional<double> micronsPerPixel;  // intended scale on slides
    std::optional<double> magnification;
    std::string targetLayer;  // empty: found automatically (last convolutional block)
    OutputKind output = OutputKind::Softmax;

    // Fields the sidecar did not give, in words the user is shown ("no sidecar: ImageNet
    // normalisation assumed").
    std::vector<std::string> notices;

    int classCount() const {
        return output == OutputKind::SigmoidBinary ? 2 : static_cast<int>(classes.size());
    }
};

// The sidecar of a model file: `<stem>.json` beside it. Throws ModelError naming the file and the
// bad field: wrong types, input_size outside 8..8192, non-finite mean/std, std <= 0,
// microns_per_pixel outside 0.05..100 or magnification outside 0.1..1000 (<= 0, non-finite).
ModelSpec readModelSpec(const std::string& jsonPath);
// Written atomically (temporary file, then rename).
void writeModelSpec(const ModelSpec& spec, const std::string& jsonPath);
std::string sidecarPathFor(const std::string& modelPath);

}  // namespace lucida
