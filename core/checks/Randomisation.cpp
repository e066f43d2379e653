#include "checks/Randomisation.h"

#include "cam/CamMaps.h"
#include "cam/Explainer.h"
#include "checks/MapSimilarity.h"
#include "model/Model.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>
#include <stdexcept>

namespace lucida {

namespace {

// The block a parameter belongs to: its module path up to the first numeric part ("layer4.1.conv1.
// weight" → "layer4.1", "features.3.0.weight" → "features.3"); where that numeric part names the
// module holding the parameter itself, the container before it ("block4.0.weight" → "block4").
std::string blockOf(const std::string& parameter) {
    std::vector<std::string> parts;
    for (std::size_t start = 0;;) {
        const auto dot = parameter.find('.', start);
        if (dot == std::string::npos) break;  // what follows is the parameter's own name
        parts.push_back(parameter.substr(start, dot - start));
        start = dot + 1;
    }
    if (parts.empty()) return parameter;
    std::size_t end = parts.size();
    for (std::size_t k = 1; k < parts.size(); ++k)
        if (!parts[k].empty() && std::isdigit(static_cast<unsigned char>(parts[k][0]))) {
            end = k + 1 < parts.size() ? k + 1 : k;
            break;
        }
    std::string block = parts[0];
    for (std::size_t k = 1; k < end; ++k) block += "." + parts[k];
    return block;
}

// Replaces every parameter of `block` by seeded normal values: weights (2 or more dimensions) with
// mean 0 and the tensor's own spread, as an initialisation draws them (keeping a non-zero mean
// would keep a GAP + linear head's average over channels, and with it the map); biases and
// normalisation parameters with their own mean and spread.
void randomiseBlock(ModelBackend& backend, const std::string& block, std::uint64_t seed) {
    torch::NoGradGuard noGrad;
    auto generator = at::detail::createCPUGenerator(seed);
    for (auto& [name, p] : backend.namedParameters()) {
        if (blockOf(name) != block) continue;
        const at::Tensor values = p.detach().to(torch::kCPU, torch::kFloat64);
        const double mean = p.dim() >= 2 ? 0.0 : values.mean().item<double>();
        const double spread =
            values.numel() > 1 ? values.std().item<double>() : std::abs(values.item<double>());
        at::Tensor fresh = torch::empty(p.sizes(), torch::kFloat64);
        fresh.normal_(mean, spread > 0 ? spread : 0.02, generator);
        p.copy_(fresh.to(p.device(), p.scalar_type()));
    }
}

FloatTensor atImageSize(const FloatTensor& map, const FloatTensor& image) {
    return upsample(map, static_cast<int>(image.size(3)), static_cast<int>(image.size(2)));
}

std::string verdictOf(const RandomisationResult& r, double threshold) {
    char text[512];
    if (r.stages.empty()) return "No parameters to randomise: nothing was checked.";
    for (const auto& s : r.stages)
        if (std::abs(s.spearman) < threshold) {
            std::snprintf(text, sizeof text,
                          "The map depends on the learned weights: with the weights from the head "
                          "down to %s randomised, its rank correlation with the original falls to "
                          "%.2f (below %.2f).",
                          s.block.c_str(), s.spearman, threshold);
            return text;
        }
    double lowest = 1;
    for (const auto& s : r.stages) lowest = std::min(lowest, std::abs(s.spearman));
    std::snprintf(text, sizeof text,
                  "The map barely depends on the learned weights: with every checked block "
                  "randomised (down to %s) its rank correlation with the original stays at %.2f "
                  "or more. It shows the image (edges, stain) more than the model's reasons.",
                  r.stages.back().block.c_str(), lowest);
    return text;
}

}  // namespace

std::vector<std::string> parameterBlocks(const Model& model) {
    std::vector<std::string> blocks;
    for (const auto& [name, p] : model.backend().namedParameters()) {
        const std::string b = blockOf(name);
        if (blocks.empty() || blocks.back() != b) blocks.push_back(b);
    }
    return {blocks.rbegin(), blocks.rend()};
}

RandomisationResult cascadingRandomisation(const Model& model, const FloatTensor& image,
                                           const MapOfModel& mapOf,
                                           const RandomisationOptions& options) {
    if (image.dims() != 4 || image.size(0) != 1)
        throw std::invalid_argument("randomisation check: the image must be [1, 3, H, W]");
    const FloatTensor original = atImageSize(mapOf(model, image), image);
    const auto copy = Model::open(model.path());
    auto blocks = parameterBlocks(*copy);
    if (options.maxStages > 0 && blocks.size() > static_cast<std::size_t>(options.maxStages))
        blocks.resize(static_cast<std::size_t>(options.maxStages));
    RandomisationResult result;
    for (std::size_t i = 0; i < blocks.size(); ++i) {
        randomiseBlock(copy->backend(), blocks[i], options.seed + i);
        const FloatTensor map = atImageSize(mapOf(*copy, image), image);
        result.stages.push_back(
            {blocks[i], spearmanCorrelation(original, map), structuralSimilarity(original, map)});
        if (options.progress &&
            options.progress(static_cast<int>(i + 1), static_cast<int>(blocks.size())))
            throw std::runtime_error("randomisation check cancelled");
    }
    for (const auto& s : result.stages)
        if (std::abs(s.spearman) < options.threshold) result.dependsOnWeights = true;
    result.verdict = verdictOf(result, options.threshold);
    return result;
}

MapOfModel explanationMap(const std::string& method, const std::string& layer, int classIndex) {
    // The class is fixed by the first (original) explanation, so every stage explains the same one.
    auto fixed = std::make_shared<std::optional<int>>();
    if (classIndex >= 0) *fixed = classIndex;
    return [=](const Model& model, const FloatTensor& image) {
        ExplainOptions o;
        o.method = method;
        o.layer = layer;
        o.classIndex = *fixed;
        const auto e = explain(model, image, o);
        if (!fixed->has_value()) *fixed = e.at(0).explainedClass;
        return e.at(0).map;
    };
}

}  // namespace lucida
