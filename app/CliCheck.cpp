#include "CliCheck.h"

#include "cam/CamMaps.h"
#include "cam/Explainer.h"
#include "checks/Faithfulness.h"
#include "checks/Randomisation.h"
#include "engine/ModelEngine.h"
#include "image/ImageSource.h"
#include "io/AtomicFile.h"
#include "model/Model.h"
#include "model/Preprocess.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <iostream>
#include <sstream>

namespace lucida::cli {

namespace fs = std::filesystem;

namespace {

int classOf(const std::string& choice, const ModelSpec& spec) {
    if (choice == "auto") return -1;
    for (std::size_t i = 0; i < spec.classes.size(); ++i)
        if (spec.classes[i] == choice) return static_cast<int>(i);
    std::size_t used = 0;
    int k = -1;
    try {
        k = std::stoi(choice, &used);
    } catch (const std::exception&) {
    }
    if (used != choice.size() || k < 0 || k >= spec.classCount())
        throw std::invalid_argument("--class must be auto, a class index or name, not '" + choice +
                                    "'");
    return k;
}

std::string curvesCsv(const FaithfulnessResult& f) {
    std::ostringstream out;
    out << "share,deletion,insertion,random_deletion,random_insertion\n";
    for (std::size_t i = 0; i < f.deletion.share.size(); ++i)
        out << f.deletion.share[i] << ',' << f.deletion.probability[i] << ','
            << f.insertion.probability[i] << ',' << f.randomDeletion.probability[i] << ','
            << f.randomInsertion.probability[i] << '\n';
    return out.str();
}

nlohmann::ordered_json curveJson(const Curve& c) {
    return {{"auc", c.auc}, {"share", c.share}, {"probability", c.probability}};
}

// One image: explanation, randomisation cascade, faithfulness curves, written beside each other.
void checkImage(const CheckArgs& args, const Model& model, const std::string& path) {
    ModelEngine& engine = modelEngine();
    const auto source = openImage(path);
    const ModelSpec& spec = model.spec();
    const FloatTensor input =
        preprocess(readWholeImage(*source, spec.inputWidth, spec.inputHeight), spec);
    ExplainOptions options;
    options.method = args.method;
    options.layer = args.layer;
    if (const int k = classOf(args.classChoice, spec); k >= 0) options.classIndex = k;
    const Explanation e = engine.explain(model, input, options).at(0);

    RandomisationOptions randomisation;
    randomisation.seed = args.seed;
    randomisation.maxStages = args.stages;
    const RandomisationResult r = engine.cascadingRandomisation(
        model, input, engine.explanationMap(args.method, args.layer, e.explainedClass),
        randomisation);

    FaithfulnessOptions faithfulness;
    faithfulness.removal = removalFromName(args.removal);
    faithfulness.steps = args.steps;
    faithfulness.seed = args.seed;
    FloatTensor image({3, input.size(2), input.size(3)});
    image.data = input.data;
    const int cls = e.explainedClass;
    const FaithfulnessResult f = measureFaithfulness(
        image, upsample(e.map, static_cast<int>(input.size(3)), static_cast<int>(input.size(2))),
        [&](const FloatTensor& batch) {
            const auto p = model.probabilities(model.logits(batch));
            std::vector<double> out;
            for (const auto& row : p) out.push_back(row.at(static_cast<std::size_t>(cls)));
            return out;
        },
        faithfulness);

    const std::string stem = (fs::path(args.outDir) / fs::path(path).filename()).string();
    nlohmann::ordered_json j;
    j["image"] = path;
    j["model"] = args.model;
    j["method"] = e.method;
    j["layer"] = e.layer;
    j["explained_class"] = spec.classes.at(static_cast<std::size_t>(cls));
    j["probability"] = e.probabilities.at(static_cast<std::size_t>(cls));
    j["randomisation"] = {{"verdict", r.verdict},
                          {"depends_on_weights", r.dependsOnWeights},
                          {"seed", args.seed},
                          {"stages", nlohmann::json::array()}};
    std::ostringstream stagesCsv;
    stagesCsv << "block,spearman,ssim\n";
    for (const auto& s : r.stages) {
        j["randomisation"]["stages"].push_back(
            {{"block", s.block}, {"spearman", s.spearman}, {"ssim", s.ssim}});
        stagesCsv << s.block << ',' << s.spearman << ',' << s.ssim << '\n';
    }
    j["faithfulness"] = {{"removal", args.removal},
                         {"deletion", curveJson(f.deletion)},
                         {"insertion", curveJson(f.insertion)},
                         {"random_deletion", curveJson(f.randomDeletion)},
                         {"random_insertion", curveJson(f.randomInsertion)}};
    writeFileAtomically(stem + ".check.json", j.dump(2) + "\n");
    writeFileAtomically(stem + ".randomisation.csv", stagesCsv.str());
    writeFileAtomically(stem + ".faithfulness.csv", curvesCsv(f));
    std::cout << path << ": " << r.verdict << " Deletion AUC " << f.deletion.auc << " (random "
              << f.randomDeletion.auc << "), insertion AUC " << f.insertion.auc << " (random "
              << f.randomInsertion.auc << ").\n";
}

}  // namespace

CLI::App* addCheckCommand(CLI::App& app, CheckArgs& a) {
    auto* cmd = app.add_subcommand(
        "check", "Can this map be trusted? Model randomisation and deletion/insertion curves");
    cmd->add_option("--model", a.model, "TorchScript .pt or state_dict .pth with its sidecar")
        ->required();
    cmd->add_option("--method", a.method,
                    "cam, gradcam, gradcam++, xgradcam, hirescam, layercam, eigencam, scorecam")
        ->capture_default_str();
    cmd->add_option("--class", a.classChoice, "auto (predicted), an index or a class name")
        ->capture_default_str();
    cmd->add_option("--layer", a.layer, "target layer (default: the sidecar's or the last block)");
    cmd->add_option("--removal", a.removal, "how deleted pixels are replaced: blur or mean")
        ->check(CLI::IsMember({"blur", "mean"}))
        ->capture_default_str();
    cmd->add_option("--steps", a.steps, "points of each faithfulness curve after the first")
        ->check(CLI::Range(1, 1000))
        ->capture_default_str();
    cmd->add_option("--stages", a.stages, "randomisation stages from the head (0: every block)")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    cmd->add_option("--seed", a.seed, "of the random weights and the random order")
        ->capture_default_str();
    cmd->add_option("--out", a.outDir, "output folder")->required();
    cmd->add_option("IMAGE", a.images, "images (any format Lucida opens)")->required();
    return cmd;
}

int runCheck(const CheckArgs& args) {
    const auto model = modelEngine().openModel(args.model);
    fs::create_directories(args.outDir);
    int failures = 0;
    for (const std::string& path : args.images) {
        try {
            checkImage(args, *model, path);
        } catch (const std::exception& e) {
            std::cerr << "lucida-cli: " << path << ": " << e.what() << "\n";
            ++failures;
        }
    }
    return failures == 0 ? 0 : 1;
}

}  // namespace lucida::cli
