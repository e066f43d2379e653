#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace at {
class Tensor;
}

namespace lucida {

// What a CAM method may look at for one batch.
struct CamContext {
    const at::Tensor& activations;  // A: [B, C, h, w] at the target layer
    const at::Tensor& gradients;    // dS/dA: [B, C, h, w]; undefined for methods that need none
    const at::Tensor& classes;      // [B] class index explained per image
    const at::Tensor&
        classSigns;  // [B] +1, or -1 where the negative class of a one-logit model is explained
    const at::Tensor& linearWeights;  // [K, C] of a GAP + linear head, or undefined
    // Scores S (one per image, the explained class) for a batch of activations at the target layer;
    // for Score-CAM's masked forwards (the input is masked, then run through the whole model).
    std::function<at::Tensor(const at::Tensor& maskedInput, const at::Tensor& classes)>
        scoreOfInput;
    const at::Tensor& input;  // [B, 3, H, W] normalised
};

// One CAM-family method: turns activations (and gradients) into a raw map [B, h, w] at the target
// layer's resolution, with the ReLU the method prescribes. Implementations are registered in
// CamMethods.cpp.
class CamMethod {
public:
    virtual ~CamMethod() = default;
    virtual std::string name() const = 0;
    virtual bool needsGradients() const { return true; }
    virtual at::Tensor compute(const CamContext& context) const = 0;
    // The per-channel terms [B, C, h, w] whose channel sum, then a ReLU, is the map (w_k A_k, or
    // G ⊙ A): what eigen smoothing projects on their first principal component instead of summing.
    // Throws std::invalid_argument for a method that is not such a sum (Eigen-CAM).
    virtual at::Tensor channelContributions(const CamContext& context) const;
};

// Score-CAM's masked inputs per forward (memory bounded whatever the channel count).
inline constexpr std::int64_t kScoreCamChunk = 32;

std::unique_ptr<CamMethod> makeCamMethod(const std::string& name);  // throws std::invalid_argument
std::vector<std::string> camMethodNames();

}  // namespace lucida
