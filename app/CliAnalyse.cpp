#include "CliAnalyse.h"
#include "CliAnnotations.h"
#include "CliExplain.h"
#include "CliInterrupt.h"

#include "analysis/AnalysisOutputs.h"
#include "analysis/SlideAnalysis.h"
#include "cohort/PixelSizeOverride.h"
#include "engine/ModelEngine.h"
#include "image/ImageSource.h"
#include "model/Model.h"
#include "util/ProgressText.h"

#include <CLI/CLI.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

namespace lucida::cli {
CLI::App* addAnalyseCommand(CLI::App& app, AnalyseArgs& a) {
    auto* cmd = app.add_subcommand(
        "analyse", "Run a model and a CAM method over every tissue patch of a slide");
    cmd->add_option("SLIDE", a.slide, "whole slide or large image")->required();
    addAnalysisOptions(*cmd, a);
    cmd->add_option("--out", a.outDir, "output folder")->required();
    cmd->add_option("--annotations", a.annotations,
                    "GeoJSON or ASAP XML: the share of the CAM's energy inside its areas and "
                    "whether the peak lies inside (<slide>.annotations.json)");
    cmd->add_option("--annotation-class", a.annotationClass,
                    "with --annotations: only the areas of this class");
    cmd->add_option("--results", a.resultsDir,
                    "where per-patch results are kept for reuse and resume (default: --out)");
    return cmd;
}

void addAnalysisOptions(CLI::App& cmd, AnalyseArgs& a) {
    cmd.add_option("--model", a.model, "TorchScript .pt or state_dict .pth with its sidecar")
        ->required();
    cmd.add_option("--method", a.method,
                   "cam, gradcam, gradcam++, xgradcam, hirescam, layercam, eigencam, scorecam")
        ->capture_default_str();
    addSmoothingFlags(cmd, a.eigenSmooth, a.augmentSmooth);
    cmd.add_option("--class", a.classChoice,
                   "class to explain: auto (a binary model's positive class, else the last), an "
                   "index or a name")
        ->capture_default_str();
    cmd.add_option("--layer", a.layer, "target layer (default: the sidecar's or the last block)");
    cmd.add_option("--overlap", a.overlap, "overlap of neighbouring patches, 0..0.75")
        ->check(CLI::Range(0.0, 0.75))
        ->capture_default_str();
    cmd.add_option("--mode", a.mode,
                   "dense: the trunk once over large tiles, seamless maps (GAP + linear "
                   "heads; cam, gradcam, hirescam, layercam; else patch, with a note saying "
                   "why, and stored as patch); patch: every patch on its own, as trained")
        ->check(CLI::IsMember({"dense", "patch"}))
        ->capture_default_str();
    cmd.add_option("--precision", a.precision,
                   "int8: dense mode's trunk in int8, calibrated on the image's own tissue "
                   "(native .pth ResNets and small CNN, CPU; see docs/DENSE.md for its agreement "
                   "with fp32); fp32 elsewhere, with a note")
        ->check(CLI::IsMember({"fp32", "int8"}))
        ->capture_default_str();
    cmd.add_option("--min-tissue", a.minTissue, "least tissue share of an analysed patch")
        ->check(CLI::Range(0.0, 1.0))
        ->capture_default_str();
    cmd.add_flag("--no-tissue", a.noTissue, "analyse every patch, tissue or not");
    cmd.add_option("--batch", a.batch,
                   "patches per model call: auto (what fits the free memory) or a number")
        ->capture_default_str();
    cmd.add_option("--fit", a.fit,
                   "auto: the whole image resized to the model input when neither model nor "
                   "image has a physical scale (photos, MRI), else patches; whole; patches")
        ->check(CLI::IsMember({"auto", "whole", "patches"}))
        ->capture_default_str();
    cmd.add_option("--slice", a.slice, "slice of a DICOM series or multi-frame image (from 1)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
}

std::vector<std::string> analysisOptionWords(const AnalyseArgs& a) {
    std::vector<std::string> words = {"--model",      a.model,
                                      "--method",     a.method,
                                      "--class",      a.classChoice,
                                      "--overlap",    std::to_string(a.overlap),
                                      "--mode",       a.mode,
                                      "--min-tissue", std::to_string(a.minTissue),
                                      "--batch",      a.batch,
                                      "--fit",        a.fit,
                                      "--slice",      std::to_string(a.slice)};
    if (!a.layer.empty()) words.insert(words.end(), {"--layer", a.layer});
    if (a.precision != "fp32") words.insert(words.end(), {"--precision", a.precision});
    if (a.noTissue) words.push_back("--no-tissue");
    if (a.eigenSmooth) words.push_back("--eigen-smooth");
    if (a.augmentSmooth) words.push_back("--flip-smooth");
    return words;
}

AnalysisSettings settingsFromArgs(const AnalyseArgs& args, const ModelSpec& spec) {
    AnalysisSettings settings;
    if (args.batch == "auto") {
        settings.batchSize = 0;
    } else {
        try {
            std::size_t used = 0;
            settings.batchSize = std::stoi(args.batch, &used);
            if (used != args.batch.size() || settings.batchSize <= 0) throw std::exception();
        } catch (const std::exception&) {
            throw std::invalid_argument("--batch must be auto or a positive number, not '" +
                                        args.batch + "'");
        }
    }
    settings.method = args.method;
    settings.eigenSmooth = args.eigenSmooth;
    settings.augmentSmooth = args.augmentSmooth;
    settings.layer = args.layer;
    settings.overlap = args.overlap;
    settings.mode = args.mode == "patch" ? AnalysisMode::Patch : AnalysisMode::Dense;
    settings.int8 = args.precision == "int8";
    settings.minTissue = args.minTissue;
    settings.detectTissue = !args.noTissue;
    settings.fit = args.fit == "whole"     ? ImageFit::WholeImage
                   : args.fit == "patches" ? ImageFit::Patches
                                           : ImageFit::Auto;
    settings.slice = args.slice - 1;
    if (args.classChoice != "auto") {
        const auto& classes = spec.classes;
        const auto it = std::find(classes.begin(), classes.end(), args.classChoice);
        if (it != classes.end()) {
            settings.classIndex = static_cast<int>(it - classes.begin());
        } else {
            try {
                settings.classIndex = std::stoi(args.classChoice);
            } catch (const std::exception&) {
                throw std::invalid_argument("--class " + args.classChoice +
                                            ": not a class of the model nor an index");
            }
        }
    }
    return settings;
}

namespace {
// Whether `jsonPath` already describes this complete analysis (so its outputs need no rewrite).
bool outputsHold(const std::string& jsonPath, const SlideAnalysis& analysis) {
    try {
        std::ifstream in(jsonPath);
        if (!in) return false;
        const auto j = nlohmann::json::parse(in);
        return j.value("key", "") == analysis.key && j.value("complete", false) &&
               j.value("analysed_patches", std::size_t(0)) == analysis.outcomes.size();
    } catch (const std::exception&) {
        return false;  // damaged or foreign: write it again
    }
}
}  // namespace

SlideRun analyseSlideToOutputs(const AnalyseArgs& args, const Model& model,
                               const std::function<bool()>& cancelled, std::ostream& log,
                               bool keepOutputs) {
    const auto started = std::chrono::steady_clock::now();
    const AnalysisSettings settings = settingsFromArgs(args, model.spec());
    auto source = openImage(args.slide);
    if (args.pixelSize > 0) source = withPixelSize(std::move(source), args.pixelSize);
    const std::string results = args.resultsDir.empty() ? args.outDir : args.resultsDir;
    AnalysisCallbacks callbacks;
    callbacks.cancelled = cancelled;
    callbacks.onProgress = [&log](const AnalysisProgress& p) {
        log << "\rpatches "
            << progressText(p.done, p.total, p.patchesPerSecond, "patches", p.secondsLeft) << "   "
            << std::flush;
    };
    // Another process writing the same results: say so once, then wait for it (Ctrl-C stops).
    bool waitShown = false;
    callbacks.onWaiting = [&waitShown, &log](const SlideAnalysis&, const std::string& message) {
        if (!waitShown) log << "waiting: " << message << "\n";
        waitShown = true;
    };
    std::size_t noticesShown = 0;
    callbacks.onLoaded = [&log, &noticesShown](const SlideAnalysis& a) {
        for (const auto& notice : a.notices) log << "note: " << notice << "\n";
        noticesShown = a.notices.size();
    };
    const SlideAnalysis analysis =
        modelEngine().analyseSlide(*source, model, settings, results, callbacks);
    log << "\n";
    // What the run itself found (int8 calibrated again).
    for (std::size_t i = noticesShown; i < analysis.notices.size(); ++i)
        log << "note: " << analysis.notices[i] << "\n";
    if (!analysis.writer.empty())
        log << "stopped while " << analysis.writer << " was writing " << analysis.resultsDir
            << "\n";
    if (analysis.reused)
        log << analysis.reused << " patches reused from " << analysis.resultsDir << "\n";
    SlideRun run;
    run.patches = analysis.outcomes.size();
    run.inferred = analysis.doneCount() - std::min(analysis.doneCount(), analysis.reused);
    log << run.inferred << " patches inferred\n";
    if (const RegionReads& r = analysis.reads; r.fromCache + r.decoded > 0)
        log << "patch reads: " << r.fromCache << " from cached tiles, " << r.decoded
            << " decoded\n";
    std::string stem = std::filesystem::path(args.slide).filename().string();
    if (source->info().sliceCount > 1) stem += ".slice" + std::to_string(args.slice);
    run.jsonPath = (std::filesystem::path(args.outDir) / (stem + ".analysis.json")).string();
    if (!(keepOutputs && run.inferred == 0 && outputsHold(run.jsonPath, analysis)))
        run.jsonPath = writeAnalysisOutputs(analysis, source->info(), args.outDir, stem);
    log << "summary: " << run.jsonPath << "\n";
    if (!args.annotations.empty()) {
        const auto path = std::filesystem::path(args.outDir) / (stem + ".annotations.json");
        writeAnnotationHeat(args.annotations, args.annotationClass, source->info(),
                            stitchCam(analysis, CamNormalisation::Slide), path.string(), log);
    }
    run.complete = analysis.complete();
    const AnalysisSummary summary = summarise(analysis);
    run.score = summary.topMean;
    run.classes = analysis.classes;
    run.className = analysis.classes.at(analysis.explainedClass);
    if (!summary.topRegions.empty()) {
        const auto& r = summary.topRegions.front();
        run.hasRegion = true;
        run.regionX = r.x, run.regionY = r.y, run.regionW = r.width, run.regionH = r.height;
        run.regionProbability = r.probability;
    }
    if (!run.complete)
        log << "cancelled after " << analysis.doneCount() << " of " << analysis.outcomes.size()
            << " patches; run again to resume\n";
    run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return run;
}

int runAnalyse(const AnalyseArgs& args) {
    auto model = modelEngine().openModel(args.model);
    for (const auto& notice : model->spec().notices) std::cerr << "note: " << notice << "\n";
    InterruptGuard interrupt;
    const SlideRun run = analyseSlideToOutputs(
        args, *model, [&interrupt] { return interrupt.raised(); }, std::cerr);
    return run.complete ? 0 : 1;
}

}  // namespace lucida::cli
