#include "CliEvaluate.h"

#include "cam/CamMaps.h"
#include "cam/Explainer.h"
#include "checks/Localisation.h"
#include "engine/ModelEngine.h"
#include "image/ImageSource.h"
#include "io/AtomicFile.h"
#include "model/Model.h"
#include "model/Preprocess.h"
#include "train/ImageFolder.h"
#include "train/Metrics.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include <filesystem>
#include <iostream>

namespace lucida::cli {

CLI::App* addEvaluateCommand(CLI::App& app, EvaluateArgs& a) {
    auto* cmd = app.add_subcommand(
        "evaluate", "Accuracy of a model on a labelled folder, and the CAM pointing game");
    cmd->add_option("--model", a.model, "model file (.pt/.pth with its sidecar)")->required();
    cmd->add_option("DATA", a.data, "folder with one sub-folder per class (the model's names)")
        ->required();
    cmd->add_option("--masks", a.masks,
                    "lesion masks: MASKS/<class>/<image file name>, non-zero inside");
    cmd->add_option("--method", a.methods,
                    "CAM method(s) for the pointing games, comma-separated: one row each")
        ->delimiter(',')
        ->capture_default_str();
    cmd->add_option("--json", a.json, "write the results as JSON here");
    cmd->add_option("--batch", a.batchSize)->check(CLI::PositiveNumber)->capture_default_str();
    return cmd;
}

namespace {

struct PointingScore {
    int hits = 0;
    double energy = 0;  // summed share of each map's energy inside its mask
};

}  // namespace

int runEvaluate(const EvaluateArgs& args) {
    namespace fs = std::filesystem;
    auto model = modelEngine().openModel(args.model);
    const auto& spec = model->spec();
    const ImageFolder folder = scanImageFolder(args.data);
    // The folder's classes, mapped onto the model's by name.
    std::vector<int> toModel;
    for (const auto& name : folder.classes) {
        const auto it = std::find(spec.classes.begin(), spec.classes.end(), name);
        if (it == spec.classes.end())
            throw std::invalid_argument(args.data + ": class folder '" + name +
                                        "' is not a class of the model");
        toModel.push_back(static_cast<int>(it - spec.classes.begin()));
    }
    for (const auto& s : folder.skipped)
        std::cerr << "skipped " << s.path << ": " << s.reason << "\n";

    std::vector<std::vector<float>> probabilities;
    std::vector<int> labels;
    std::vector<PointingScore> scores(args.methods.size());
    int pointed = 0;
    const std::size_t n = folder.images.size();
    for (std::size_t first = 0; first < n; first += static_cast<std::size_t>(args.batchSize)) {
        const std::size_t last = std::min(n, first + static_cast<std::size_t>(args.batchSize));
        std::vector<FloatTensor> inputs;
        std::vector<PixelBuffer> pixels;
        for (std::size_t i = first; i < last; ++i) {
            const auto source = openImage(folder.images[i].path);
            pixels.push_back(readWholeImage(*source, spec.inputWidth, spec.inputHeight));
            inputs.push_back(preprocess(pixels.back(), spec));
        }
        const FloatTensor batch = stackBatch(inputs);
        const auto p = model->probabilities(model->logits(batch));
        for (std::size_t i = first; i < last; ++i) {
            probabilities.push_back(p[i - first]);
            labels.push_back(toModel[static_cast<std::size_t>(folder.images[i].label)]);
        }
        if (args.masks.empty()) continue;
        // Pointing game, per true class, on images that have a lesion.
        for (std::size_t i = first; i < last; ++i) {
            const auto& item = folder.images[i];
            const fs::path maskPath =
                fs::path(args.masks) / folder.classes[item.label] / fs::path(item.path).filename();
            const cv::Mat mask = cv::imread(maskPath.string(), cv::IMREAD_GRAYSCALE);
            if (mask.empty() || cv::countNonZero(mask) == 0) continue;
            FloatTensor one({1, 3, spec.inputHeight, spec.inputWidth});
            std::copy_n(
                batch.data.begin() + static_cast<std::ptrdiff_t>((i - first) * one.data.size()),
                one.data.size(), one.data.begin());
            std::vector<bool> inside(mask.total());
            for (std::size_t k = 0; k < inside.size(); ++k) inside[k] = mask.data[k] != 0;
            ++pointed;
            for (std::size_t m = 0; m < args.methods.size(); ++m) {
                ExplainOptions options;
                options.method = args.methods[m];
                options.classIndex = toModel[static_cast<std::size_t>(item.label)];
                const auto e = modelEngine().explain(*model, one, options)[0];
                const FloatTensor up = upsample(e.map, mask.cols, mask.rows);
                const auto peak = static_cast<int>(
                    std::max_element(up.data.begin(), up.data.end()) - up.data.begin());
                scores[m].hits += mask.at<std::uint8_t>(peak / mask.cols, peak % mask.cols) != 0;
                scores[m].energy += energyInMask(up, inside);
            }
        }
        std::cerr << "\revaluated " << last << "/" << n << std::flush;
    }
    std::cerr << "\n";
    const ClassificationMetrics m =
        computeMetrics(probabilities, labels, static_cast<int>(spec.classes.size()));
    std::cout << "images: " << n << "\naccuracy: " << m.accuracy << "\nmacro F1: " << m.macroF1
              << "\nROC-AUC: " << m.rocAuc << "\n";
    nlohmann::json games = nlohmann::json::array();
    for (std::size_t k = 0; k < args.methods.size() && !args.masks.empty(); ++k) {
        const PointingScore& s = scores[k];
        const double share = pointed ? static_cast<double>(s.hits) / pointed : 0.0;
        const double energyShare = pointed ? s.energy / pointed : 0.0;
        std::cout << "pointing game (" << args.methods[k] << "): " << s.hits << "/" << pointed
                  << " = " << share << "\nenergy pointing game (" << args.methods[k]
                  << "): " << energyShare << "\n";
        games.push_back({{"method", args.methods[k]},
                         {"images", pointed},
                         {"hits", s.hits},
                         {"share", share},
                         {"energy_share", energyShare}});
    }
    if (!args.json.empty()) {
        nlohmann::json j = {
            {"model", args.model},
            {"data", args.data},
            {"images", n},
            {"accuracy", m.accuracy},
            {"macro_f1", m.macroF1},
            {"roc_auc", std::isfinite(m.rocAuc) ? nlohmann::json(m.rocAuc) : nlohmann::json()},
            {"confusion", m.confusion},
            {"classes", spec.classes}};
        if (!games.empty()) {
            j["pointing_game"] = games.front();  // the first method, as before several were asked
            j["pointing_games"] = games;
        }
        writeFileAtomically(args.json, j.dump(2) + "\n");
    }
    return 0;
}

}  // namespace lucida::cli
