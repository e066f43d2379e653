#include "CliCheck.h"

#include "checks/MapCheck.h"
#include "engine/ModelEngine.h"
#include "image/ImageSource.h"
#include "io/AtomicFile.h"
#include "model/Model.h"
#include "model/Preprocess.h"

#include <CLI/CLI.hpp>

#include <filesystem>
#include <iostream>

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

// One image: explanation, randomisation cascade, faithfulness curves, written beside each other.
void checkImage(const CheckArgs& args, const Model& model, const std::string& path) {
    const auto source = openImage(path);
    const ModelSpec& spec = model.spec();
    const FloatTensor input =
        preprocess(readWholeImage(*source, spec.inputWidth, spec.inputHeight), spec);
    MapCheckOptions options;
    options.method = args.method;
    options.layer = args.layer;
    options.classIndex = classOf(args.classChoice, spec);
    options.stages = args.stages;
    options.seed = args.seed;
    options.faithfulness.removal = removalFromName(args.road ? "road" : args.removal);
    options.faithfulness.steps = args.steps;
    const MapCheckResult r = runMapCheck(model, input, options);

    const std::string stem = (fs::path(args.outDir) / fs::path(path).filename()).string();
    writeFileAtomically(stem + ".check.json", mapCheckJson(r, path, args.model));
    writeFileAtomically(stem + ".randomisation.csv", randomisationCsv(r.randomisation));
    writeFileAtomically(stem + ".faithfulness.csv", faithfulnessCsv(r.faithfulness));
    const FaithfulnessResult& f = r.faithfulness;
    std::cout << path << ": " << r.randomisation.verdict << " Deletion AUC " << f.deletion.auc
              << " (random " << f.randomDeletion.auc << "), insertion AUC " << f.insertion.auc
              << " (random " << f.randomInsertion.auc << ").\n";
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
    cmd->add_option("--removal", a.removal,
                    "how deleted pixels are replaced: blur, mean or road (ROAD's noisy linear "
                    "imputation, Rong et al. 2022)")
        ->check(CLI::IsMember({"blur", "mean", "road"}))
        ->capture_default_str();
    cmd->add_flag("--road", a.road, "the same as --removal road");
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
