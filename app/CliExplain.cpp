#include "CliExplain.h"

#include "cam/Batching.h"
#include "cam/CamMaps.h"
#include "cam/Explainer.h"
#include "engine/ModelEngine.h"
#include "image/FileError.h"
#include "image/ImageSource.h"
#include "io/AtomicFile.h"
#include "model/Model.h"
#include "model/Preprocess.h"
#include "util/ProgressText.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <set>
#include <sstream>

namespace lucida::cli {

namespace fs = std::filesystem;

namespace {

// Results replace their file whole: a crash never leaves half an image.
void writeImage(const std::string& path, const cv::Mat& image) {
    writeFileAtomically(path, [&](const std::string& temporary) {
        if (!cv::imwrite(temporary, image)) throw FileError(path, "cannot write the image");
    });
}

std::optional<int> parseClass(const std::string& choice, const ModelSpec& spec) {
    if (choice == "auto") return std::nullopt;
    for (std::size_t i = 0; i < spec.classes.size(); ++i)
        if (spec.classes[i] == choice) return static_cast<int>(i);
    try {
        std::size_t used = 0;
        const int k = std::stoi(choice, &used);
        if (used == choice.size()) return k;
    } catch (const std::exception&) {
    }
    throw std::invalid_argument("--class must be auto, an index or a class name, not '" + choice +
                                "'");
}

// --batch: "auto" (0) or a positive number.
int parseBatch(const std::string& text) {
    if (text == "auto") return 0;
    try {
        std::size_t used = 0;
        const int n = std::stoi(text, &used);
        if (used == text.size() && n > 0) return n;
    } catch (const std::exception&) {
    }
    throw std::invalid_argument("--batch must be auto or a positive number, not '" + text + "'");
}

std::string mebibytes(std::int64_t bytes) {
    std::ostringstream out;
    out << std::fixed << std::setprecision(bytes < (std::int64_t{10} << 20) ? 1 : 0)
        << static_cast<double>(bytes) / (1 << 20) << " MiB";
    return out.str();
}

struct Loaded {
    std::string path;
    PixelBuffer pixels;
    FloatTensor input;
};

}  // namespace

int runExplain(const ExplainArgs& args) {
    const auto model = modelEngine().openModel(args.model);
    for (const auto& notice : model->spec().notices)
        std::cerr << "lucida-cli: note: " << notice << "\n";
    ExplainOptions options;
    options.method = args.method;
    options.layer = args.layer;
    options.classIndex = parseClass(args.classChoice, model->spec());
    options.precision = precisionFromName(args.precision);
    options.eigenSmooth = args.eigenSmooth;
    options.augmentSmooth = args.augmentSmooth;
    int batchSize = parseBatch(args.batch);
    const ColourMap colours = colourMapFromName(args.colourMap);
    if (args.norm != "image" && args.norm != "shared")
        throw std::invalid_argument("--norm must be image or shared");
    fs::create_directories(args.outDir);
    if (batchSize == 0) {
        if (args.images.size() <= 1) {
            batchSize = 1;  // nothing to batch: no probe
        } else {
            const BatchPlan plan = modelEngine().chooseBatchSize(*model, options, {});
            batchSize = std::min(plan.batchSize, static_cast<int>(args.images.size()));
            std::cerr << "lucida-cli: batch " << batchSize << " (auto: "
                      << (plan.freeBytes > 0
                              ? std::to_string(plan.batchSize) + " fit in " +
                                    mebibytes(plan.freeBytes) + " free (" + plan.freeSource +
                                    ") at " + mebibytes(plan.perImageBytes) + " per image"
                              : std::string("free memory unknown"))
                      << ")\n";
        }
    }

    std::vector<Loaded> loaded;
    std::vector<Explanation> explanations;
    int failures = 0;
    const auto start = std::chrono::steady_clock::now();
    std::size_t done = 0;
    auto flush = [&](std::vector<Loaded>& batch) {
        if (batch.empty()) return;
        std::vector<FloatTensor> inputs;
        for (const auto& l : batch) inputs.push_back(l.input);
        // A batch that runs out of memory is split and batchSize shrinks for the next ones.
        auto results =
            modelEngine().explainInBatches(*model, stackBatch(inputs), options, batchSize);
        for (auto& r : results) explanations.push_back(std::move(r));
        for (auto& l : batch) loaded.push_back(std::move(l));
        batch.clear();
        done = loaded.size();
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const double rate = done / std::max(seconds, 1e-9);
        const std::size_t total = args.images.size();
        std::cerr << "\rimages "
                  << progressText(done, total, rate, "images",
                                  secondsLeft(static_cast<double>(total - done), rate))
                  << "   " << std::flush;
    };
    std::vector<Loaded> batch;
    for (const std::string& path : args.images) {
        try {
            const auto source = openImage(path);
            Loaded l{path,
                     readWholeImage(*source, model->spec().inputWidth, model->spec().inputHeight),
                     {}};
            l.input = preprocess(l.pixels, model->spec());
            batch.push_back(std::move(l));
        } catch (const std::exception& e) {
            std::cerr << "\nlucida-cli: " << e.what() << "\n";
            ++failures;
            continue;
        }
        if (static_cast<int>(batch.size()) >= batchSize) flush(batch);
    }
    flush(batch);
    if (!args.images.empty()) std::cerr << "\n";

    std::vector<const FloatTensor*> maps;
    for (const auto& e : explanations) maps.push_back(&e.map);
    const MapScale shared = sharedScale(maps);
    std::set<std::string> names;
    for (std::size_t i = 0; i < loaded.size(); ++i) {
        const Explanation& e = explanations[i];
        const MapScale scale = args.norm == "shared" ? shared : minMaxScale(e.map);
        // Outputs are named after the input's file name (with its extension: ihc.png and ihc.jpg
        // stay apart); a name seen twice gets a counter.
        std::string name = fs::path(loaded[i].path).filename().string();
        if (name.empty()) name = fs::path(loaded[i].path).parent_path().filename().string();
        for (int n = 2; !names.insert(name).second; ++n)
            name = fs::path(loaded[i].path).filename().string() + "-" + std::to_string(n);
        const fs::path stem = fs::path(args.outDir) / name;
        // Overlay at the image's size, at most 2048 px on the longer side.
        const PixelBuffer overlay =
            overlayHeatmap(loaded[i].pixels, normalise(e.map, scale), colours, args.opacity);
        cv::Mat rgba(overlay.height, overlay.width, CV_8UC4,
                     const_cast<std::uint8_t*>(overlay.bytes.data()));
        cv::Mat bgr;
        cv::cvtColor(rgba, bgr, cv::COLOR_RGBA2BGR);
        const double shrink = std::min(1.0, 2048.0 / std::max(bgr.cols, bgr.rows));
        if (shrink < 1) cv::resize(bgr, bgr, cv::Size(), shrink, shrink, cv::INTER_AREA);
        writeImage(stem.string() + ".overlay.png", bgr);
        cv::Mat raw(static_cast<int>(e.map.size(0)), static_cast<int>(e.map.size(1)), CV_32F,
                    const_cast<float*>(e.map.data.data()));
        writeImage(stem.string() + ".cam.tiff", raw);
        nlohmann::ordered_json j;
        j["image"] = loaded[i].path;
        j["model"] = args.model;
        j["method"] = e.method;
        j["layer"] = e.layer;
        j["classes"] = model->spec().classes;
        j["probabilities"] = e.probabilities;
        j["logits"] = e.logits;
        j["predicted_class"] = e.predictedClass;
        j["explained_class"] = e.explainedClass;
        j["normalisation"] = args.norm;
        j["scale"] = {{"low", scale.low}, {"high", scale.high}};
        j["map_size"] = {e.map.size(0), e.map.size(1)};
        j["input_size"] = {model->spec().inputHeight, model->spec().inputWidth};
        j["colour_map"] = args.colourMap;
        j["device"] = model->device();
        j["precision"] = precisionName(options.precision);
        j["smoothing"] = {{"eigen", options.eigenSmooth}, {"flips", options.augmentSmooth}};
        writeFileAtomically(stem.string() + ".json", j.dump(2) + "\n");
    }
    return failures == 0 ? 0 : 1;
}

int runLayers(const std::string& path) {
    const auto model = modelEngine().openModel(path);
    const std::string chosen = model->defaultTargetLayer();
    for (const LayerInfo& l : model->layers()) {
        std::cout << (l.name == chosen ? "* " : "  ") << l.name << "  " << l.kind << "  [";
        for (std::size_t i = 0; i < l.outputShape.size(); ++i)
            std::cout << (i ? ", " : "") << l.outputShape[i];
        std::cout << "]\n";
    }
    std::cout << "(* = default target layer)\n";
    return 0;
}

int runModelInfo(const std::string& path, bool asJson) {
    const auto model = modelEngine().openModel(path);
    const ModelSpec& s = model->spec();
    nlohmann::ordered_json j;
    j["path"] = path;
    j["architecture"] = s.architecture;
    j["classes"] = s.classes;
    j["output"] = s.output == OutputKind::SigmoidBinary ? "sigmoid" : "softmax";
    j["input_size"] = {s.inputHeight, s.inputWidth};
    j["mean"] = s.mean;
    j["std"] = s.std;
    j["target_layer"] = model->defaultTargetLayer();
    j["device"] = model->device();
    j["notices"] = s.notices;
    std::cout << (asJson ? j.dump(2) : j.dump(2)) << "\n";
    return 0;
}

}  // namespace lucida::cli
