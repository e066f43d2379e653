// The CAM-family methods, each a small class; formulas as in pytorch-grad-cam except Grad-CAM++'s
// exact α (see tests/reference/README.md, docs/EXPLANATIONS.md), every map ending in a ReLU.
// Registered in makeCamMethod().
#include "cam/CamMethod.h"

#include <torch/torch.h>

#include <stdexcept>

namespace lucida {

namespace {

using torch::Tensor;

// w_k A_k for per-image channel weights w [B, C]: [B, C, h, w].
Tensor weighted(const Tensor& weights, const Tensor& activations) {
    return weights.unsqueeze(-1).unsqueeze(-1) * activations;
}

// A method whose map is relu(Σ_k contribution_k): all but Eigen-CAM.
class ChannelSumMethod : public CamMethod {
public:
    Tensor compute(const CamContext& c) const final {
        const Tensor terms = channelContributions(c);
        return torch::relu(terms.sum(1)).to(c.activations.dtype());
    }
};

class Cam final : public ChannelSumMethod {
public:
    std::string name() const override { return "cam"; }
    bool needsGradients() const override { return false; }
    Tensor channelContributions(const CamContext& c) const override {
        if (!c.linearWeights.defined())
            throw std::invalid_argument(
                "CAM needs a global-average-pool + linear head; use gradcam for this model");
        if (c.linearWeights.size(1) != c.activations.size(1))
            throw std::invalid_argument(
                "CAM needs the target layer to feed the pooling before the linear head (" +
                std::to_string(c.linearWeights.size(1)) + " channels expected)");
        const Tensor w =
            c.linearWeights.index_select(0, c.classes.clamp_max(c.linearWeights.size(0) - 1)) *
            c.classSigns.unsqueeze(1);
        return weighted(w.to(c.activations.dtype()), c.activations);
    }
};

class GradCam final : public ChannelSumMethod {
public:
    std::string name() const override { return "gradcam"; }
    Tensor channelContributions(const CamContext& c) const override {
        return weighted(c.gradients.mean({2, 3}), c.activations);
    }
};

// Grad-CAM++ in its exact form. α = G² / (2G² + Σ_hw A · G³) simplifies, for G > 0, to
// 1 / (2 + Σ_hw A · G): no epsilon is needed (A ≥ 0 after a ReLU keeps the denominator ≥ 2), and
// one would dominate where gradients are ~1e-4 (G² ~ 1e-8), as on one-logit heads. G ≤ 0
// contributes nothing (relu(G) = 0). Float64, as the Python reference.
class GradCamPlusPlus final : public ChannelSumMethod {
public:
    std::string name() const override { return "gradcam++"; }
    Tensor channelContributions(const CamContext& c) const override {
        const Tensor g = c.gradients.to(torch::kFloat64);
        const Tensor a = c.activations.to(torch::kFloat64);
        const Tensor sumA = a.sum({2, 3}, /*keepdim=*/true);
        // A layer without a ReLU may have Σ A · G = −2: such a cell gets no weight, as where G ≤ 0
        // (the denominator is replaced by 1 there so that no inf/NaN is ever formed).
        const Tensor exact = 2 + sumA * g;
        const Tensor positive = (g > 0).logical_and(exact != 0);
        const Tensor denominator = torch::where(positive, exact, torch::ones_like(g));
        const Tensor w = torch::where(positive, g / denominator, torch::zeros_like(g)).sum({2, 3});
        return weighted(w, a);
    }
};

class XGradCam final : public ChannelSumMethod {
public:
    std::string name() const override { return "xgradcam"; }
    Tensor channelContributions(const CamContext& c) const override {
        const Tensor sumA = c.activations.sum({2, 3});
        const Tensor w = (c.gradients * c.activations).sum({2, 3}) / (sumA + 1e-7);
        return weighted(w, c.activations);
    }
};

class HiResCam final : public ChannelSumMethod {
public:
    std::string name() const override { return "hirescam"; }
    Tensor channelContributions(const CamContext& c) const override {
        return c.gradients * c.activations;
    }
};

class LayerCam final : public ChannelSumMethod {
public:
    std::string name() const override { return "layercam"; }
    Tensor channelContributions(const CamContext& c) const override {
        return torch::relu(c.gradients) * c.activations;
    }
};

// First principal component of the activations (class-independent). SVD's sign is arbitrary:
// it is chosen so the map correlates positively with the channel sum of the activations.
class EigenCam final : public CamMethod {
public:
    std::string name() const override { return "eigencam"; }
    bool needsGradients() const override { return false; }
    Tensor compute(const CamContext& c) const override {
        const auto b = c.activations.size(0), ch = c.activations.size(1);
        const auto h = c.activations.size(2), w = c.activations.size(3);
        std::vector<Tensor> maps;
        for (std::int64_t i = 0; i < b; ++i) {
            const Tensor a = c.activations[i].to(torch::kFloat64).reshape({ch, h * w});
            Tensor r = a.t();
            r = r - r.mean(0, /*keepdim=*/true);
            const auto svd = torch::linalg_svd(r, /*full_matrices=*/false);
            Tensor p = r.matmul(std::get<2>(svd)[0]);
            if ((p * a.sum(0)).sum().item<double>() < 0) p = -p;
            maps.push_back(torch::relu(p).reshape({h, w}).to(c.activations.dtype()));
        }
        return torch::stack(maps);
    }
};

// Each activation channel, upsampled and scaled to [0, 1], masks the input; the class scores of
// the masked inputs, softmaxed over channels, weight the channels. Masked forwards run in chunks
// so memory stays bounded whatever the channel count.
class ScoreCam final : public ChannelSumMethod {
public:
    static constexpr std::int64_t kChunk = kScoreCamChunk;
    std::string name() const override { return "scorecam"; }
    bool needsGradients() const override { return false; }
    Tensor channelContributions(const CamContext& c) const override {
        torch::NoGradGuard noGrad;
        const auto b = c.activations.size(0), ch = c.activations.size(1);
        const auto ih = c.input.size(2), iw = c.input.size(3);
        std::vector<Tensor> maps;
        for (std::int64_t i = 0; i < b; ++i) {
            Tensor up = torch::nn::functional::interpolate(
                c.activations[i].unsqueeze(0), torch::nn::functional::InterpolateFuncOptions()
                                                   .size(std::vector<std::int64_t>{ih, iw})
                                                   .mode(torch::kBilinear)
                                                   .align_corners(false))[0];
            const Tensor flat = up.reshape({ch, -1});
            const Tensor lo = std::get<0>(flat.min(1)).view({ch, 1, 1}),
                         hi = std::get<0>(flat.max(1)).view({ch, 1, 1});
            const Tensor range = hi - lo;
            up = torch::where(range > 0,
                              (up - lo) / torch::where(range > 0, range, torch::ones_like(range)),
                              torch::zeros_like(up));
            std::vector<Tensor> scores;
            for (std::int64_t k = 0; k < ch; k += kChunk) {
                const auto n = std::min(kChunk, ch - k);
                const Tensor masked = c.input[i].unsqueeze(0) * up.slice(0, k, k + n).unsqueeze(1);
                scores.push_back(c.scoreOfInput(masked, c.classes[i].expand({n})));
            }
            const Tensor w = torch::softmax(torch::cat(scores), 0);
            maps.push_back(w.view({ch, 1, 1}) * c.activations[i]);
        }
        return torch::stack(maps);
    }
};

}  // namespace

at::Tensor CamMethod::channelContributions(const CamContext&) const {
    throw std::invalid_argument(name() + " is not a weighted sum of channels: no eigen smoothing");
}

std::unique_ptr<CamMethod> makeCamMethod(const std::string& name) {
    if (name == "cam") return std::make_unique<Cam>();
    if (name == "gradcam") return std::make_unique<GradCam>();
    if (name == "gradcam++" || name == "gradcampp") return std::make_unique<GradCamPlusPlus>();
    if (name == "xgradcam") return std::make_unique<XGradCam>();
    if (name == "hirescam") return std::make_unique<HiResCam>();
    if (name == "layercam") return std::make_unique<LayerCam>();
    if (name == "eigencam") return std::make_unique<EigenCam>();
    if (name == "scorecam") return std::make_unique<ScoreCam>();
    throw std::invalid_argument("unknown CAM method '" + name +
                                "' (known: cam, gradcam, gradcam++, xgradcam, hirescam, "
                                "layercam, eigencam, scorecam)");
}

}  // namespace lucida
