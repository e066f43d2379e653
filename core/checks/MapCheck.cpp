#include "checks/MapCheck.h"

#include "cam/CamMaps.h"
#include "engine/ModelEngine.h"
#include "model/Model.h"

#include <nlohmann/json.hpp>

#include <sstream>
#include <stdexcept>

namespace lucida {

namespace {

// The explained class's probability for each image of a batch.
ProbabilityOf classProbability(const Model& model, int cls) {
    return [&model, cls](const FloatTensor& batch) {
        const auto p = model.probabilities(model.logits(batch));
        std::vector<double> out;
        for (const auto& row : p) out.push_back(row.at(static_cast<std::size_t>(cls)));
        return out;
    };
}

nlohmann::ordered_json curveJson(const Curve& c) {
    return {{"auc", c.auc}, {"share", c.share}, {"probability", c.probability}};
}

}  // namespace

MapCheckResult runMapCheck(const Model& model, const FloatTensor& input,
                           const MapCheckOptions& options) {
    if (input.dims() != 4 || input.size(0) != 1)
        throw std::invalid_argument("map check: the image must be [1, 3, H, W]");
    ModelEngine& engine = modelEngine();
    // Shares of the work: the explanation and the stages (one explanation each) take the first
    // half, the 4 × (steps + 1) forwards of the curves the second.
    auto report = [&](double share, const std::string& what) {
        if (options.progress && options.progress(share, what))
            throw std::runtime_error("map check cancelled");
    };
    report(0, "explaining");
    ExplainOptions explainOptions;
    explainOptions.method = options.method;
    explainOptions.layer = options.layer;
    if (options.classIndex >= 0) explainOptions.classIndex = options.classIndex;
    const Explanation e = engine.explain(model, input, explainOptions).at(0);

    MapCheckResult r;
    r.method = e.method;
    r.layer = e.layer;
    r.classes = model.spec().classes;
    r.explainedClass = e.explainedClass;
    r.probability = e.probabilities.at(static_cast<std::size_t>(e.explainedClass));
    r.seed = options.seed;

    RandomisationOptions randomisation;
    randomisation.seed = options.seed;
    randomisation.maxStages = options.stages;
    // The checks' own callbacks return "cancel" rather than throw through the plugin.
    randomisation.progress = [&](int done, int total) {
        return options.progress &&
               options.progress(0.5 * done / total, "randomising the weights: stage " +
                                                        std::to_string(done) + " of " +
                                                        std::to_string(total));
    };
    r.randomisation = engine.cascadingRandomisation(
        model, input, engine.explanationMap(options.method, options.layer, e.explainedClass),
        randomisation);

    FaithfulnessOptions faithfulness = options.faithfulness;
    faithfulness.seed = options.seed;
    faithfulness.progress = [&](int done, int total) {
        return options.progress &&
               options.progress(0.5 + 0.5 * done / total,
                                "deletion and insertion: " + std::to_string(done) + " of " +
                                    std::to_string(total) + " images");
    };
    r.removal = removalName(faithfulness.removal);
    FloatTensor image({3, input.size(2), input.size(3)});
    image.data = input.data;
    r.faithfulness = measureFaithfulness(
        image, upsample(e.map, static_cast<int>(input.size(3)), static_cast<int>(input.size(2))),
        classProbability(model, e.explainedClass), faithfulness);
    return r;
}

std::string mapCheckJson(const MapCheckResult& r, const std::string& image,
                         const std::string& model) {
    nlohmann::ordered_json j;
    j["image"] = image;
    j["model"] = model;
    j["method"] = r.method;
    j["layer"] = r.layer;
    j["explained_class"] = r.classes.at(static_cast<std::size_t>(r.explainedClass));
    j["probability"] = r.probability;
    j["randomisation"] = {{"verdict", r.randomisation.verdict},
                          {"depends_on_weights", r.randomisation.dependsOnWeights},
                          {"seed", r.seed},
                          {"stages", nlohmann::json::array()}};
    for (const auto& s : r.randomisation.stages)
        j["randomisation"]["stages"].push_back(
            {{"block", s.block}, {"spearman", s.spearman}, {"ssim", s.ssim}});
    const FaithfulnessResult& f = r.faithfulness;
    j["faithfulness"] = {{"removal", r.removal},
                         {"deletion", curveJson(f.deletion)},
                         {"insertion", curveJson(f.insertion)},
                         {"random_deletion", curveJson(f.randomDeletion)},
                         {"random_insertion", curveJson(f.randomInsertion)}};
    return j.dump(2) + "\n";
}

std::string randomisationCsv(const RandomisationResult& r) {
    std::ostringstream out;
    out.precision(17);
    out << "block,spearman,ssim\n";
    for (const auto& s : r.stages) out << s.block << ',' << s.spearman << ',' << s.ssim << '\n';
    return out.str();
}

std::string faithfulnessCsv(const FaithfulnessResult& f) {
    std::ostringstream out;
    out.precision(17);
    out << "share,deletion,insertion,random_deletion,random_insertion\n";
    for (std::size_t i = 0; i < f.deletion.share.size(); ++i)
        out << f.deletion.share[i] << ',' << f.deletion.probability[i] << ','
            << f.insertion.probability[i] << ',' << f.randomDeletion.probability[i] << ','
            << f.randomInsertion.probability[i] << '\n';
    return out.str();
}

}  // namespace lucida
