// The CAM-family methods, each a small class; formulas as in pytorch-grad-cam (see
// tests/reference/README.md), every map ending in a ReLU. Registered in makeCamMethod().
#include "cam/CamMethod.h"

#include <torch/torch.h>

#include <stdexcept>

namespace lucida {

namespace {

using torch::Tensor;

// Σ_k w_k A_k for per-image channel weights w [B, C], then ReLU.
Tensor weightedSum(const Tensor& weights, const Tensor& activations) {
    return torch::relu((weights.unsqueeze(-1).unsqueeze(-1) * activations).sum(1));
}

class Cam final : public CamMethod {
public:
    std::string name() const override { return "cam"; }
    bool needsGradients() const override { return false; }
    Tensor compute(const CamContext& c) const override {
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
        return weightedSum(w.to(c.activations.dtype()), c.activations);
    }
};

class GradCam final : public CamMethod {
public:
    std::string name() const override { return "gradcam"; }
    Tensor compute(const CamContext& c) const override {
        return weightedSum(c.gradients.mean({2, 3}), c.activations);
    }
};

class GradCamPlusPlus final : public CamMethod {
public:
    std::string name() const override { return "gradcam++"; }
    Tensor compute(const CamContext& c) const override {
        const Tensor& g = c.gradients;
        const Tensor g2 = g.pow(2), g3 = g.pow(3);
        const Tensor sumA = c.activations.sum({2, 3}, /*keepdim=*/true);
        Tensor alpha = g2 / (2 * g2 + sumA * g3 + 1e-7);
        alpha = torch::where(g != 0, alpha, torch::zeros_like(alpha));
        const Tensor w = (torch::relu(g) * alpha).sum({2, 3});
        return weightedSum(w, c.activations);
    }
};

class XGradCam final : public CamMethod {
public:
    std::string name() const override { return "xgradcam"; }
    Tensor compute(const CamContext& c) const override {
        const Tensor sumA = c.activations.sum({2, 3});
        const Tensor w = (c.gradients * c.activations).sum({2, 3}) / (sumA + 1e-7);
        return weightedSum(w, c.activations);
    }
};

class HiResCam final : public CamMethod {
public:
    std::string name() const override { return "hirescam"; }
    Tensor compute(const CamContext& c) const override {
        return torch::relu((c.gradients * c.activations).sum(1));
    }
};

class LayerCam final : public CamMethod {
public:
    std::string name() const override { return "layercam"; }
    Tensor compute(const CamContext& c) const override {
        return torch::relu((torch::relu(c.gradients) * c.activations).sum(1));
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
class ScoreCam final : public CamMethod {
public:
    static constexpr std::int64_t kChunk = kScoreCamChunk;
    std::string name() const override { return "scorecam"; }
    bool needsGradients() const override { return false; }
    Tensor compute(const CamContext& c) const override {
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
            maps.push_back(torch::relu((w.view({ch, 1, 1}) * c.activations[i]).sum(0)));
        }
        return torch::stack(maps);
    }
};

}  // namespace

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

std::vector<std::string> camMethodNames() {
    return {"cam",      "gradcam",  "gradcam++", "xgradcam",
            "hirescam", "layercam", "eigencam",  "scorecam"};
}

}  // namespace lucida
