// Smoothing of CAM maps: eigen smoothing of a method's channel terms and test-time flips.
#include "cam/CamSmoothing.h"

#include "cam/CamMethod.h"

#include <torch/torch.h>

#include <map>

namespace lucida {

at::Tensor eigenSmoothedMaps(const CamMethod& method, const CamContext& context) {
    if (method.name() == "eigencam") return method.compute(context);
    const at::Tensor terms = method.channelContributions(context).to(torch::kFloat64);
    const auto b = terms.size(0), ch = terms.size(1), h = terms.size(2), w = terms.size(3);
    std::vector<at::Tensor> maps;
    for (std::int64_t i = 0; i < b; ++i) {
        const at::Tensor t = terms[i].reshape({ch, h * w});
        at::Tensor r = t.t();
        r = r - r.mean(0, /*keepdim=*/true);
        const auto svd = torch::linalg_svd(r, /*full_matrices=*/false);
        at::Tensor p = r.matmul(std::get<2>(svd)[0]);
        if ((p * t.sum(0)).sum().item<double>() < 0) p = -p;
        maps.push_back(torch::relu(p).reshape({h, w}));
    }
    return torch::stack(maps).to(context.activations.dtype());
}

namespace {

// Flips [N, C, H, W] (or [H, W]) along its last two dimensions as `flip` says: bit 0 left-right,
// bit 1 top-bottom. A flip is its own inverse.
at::Tensor flipped(const at::Tensor& t, int flip) {
    std::vector<std::int64_t> dims;
    if (flip & 1) dims.push_back(t.dim() - 1);
    if (flip & 2) dims.push_back(t.dim() - 2);
    return dims.empty() ? t : t.flip(dims);
}

FloatTensor toFloatTensor(const at::Tensor& t) {
    const at::Tensor c = t.to(torch::kFloat32).contiguous();
    FloatTensor out(c.sizes().vec());
    std::memcpy(out.data.data(), c.data_ptr<float>(), out.data.size() * sizeof(float));
    return out;
}

}  // namespace

std::vector<Explanation> explainWithFlips(const Model& model, const FloatTensor& batch,
                                          const ExplainOptions& options) {
    ExplainOptions plain = options;
    plain.augmentSmooth = false;
    std::vector<Explanation> out = explain(model, batch, plain);
    const at::Tensor input =
        torch::from_blob(const_cast<float*>(batch.data.data()), batch.shape, torch::kFloat32);
    // The images, grouped by the class they explain, so that each flip explains the same class.
    std::map<int, std::vector<std::int64_t>> byClass;
    for (std::size_t i = 0; i < out.size(); ++i)
        byClass[out[i].explainedClass].push_back(static_cast<std::int64_t>(i));
    std::vector<at::Tensor> sums;
    for (const auto& e : out)
        sums.push_back(
            torch::from_blob(const_cast<float*>(e.map.data.data()), e.map.shape, torch::kFloat32)
                .to(torch::kFloat64));
    for (const auto& [cls, rows] : byClass) {
        ExplainOptions forClass = plain;
        forClass.classIndex = cls;
        const at::Tensor subset = input.index_select(0, torch::tensor(rows));
        for (int flip = 1; flip < 4; ++flip) {
            const auto flippedOut = explain(model, toFloatTensor(flipped(subset, flip)), forClass);
            for (std::size_t j = 0; j < rows.size(); ++j) {
                const FloatTensor& m = flippedOut[j].map;
                const at::Tensor map =
                    torch::from_blob(const_cast<float*>(m.data.data()), m.shape, torch::kFloat32);
                auto& sum = sums[static_cast<std::size_t>(rows[j])];
                sum = sum + flipped(map, flip).to(torch::kFloat64);
            }
        }
    }
    for (std::size_t i = 0; i < out.size(); ++i) out[i].map = toFloatTensor(sums[i] / 4.0);
    return out;
}

}  // namespace lucida
