#include "CliAnalyse.h"
#include "CliAnnotations.h"
#include "CliInterrupt.h"

#include "analysis/AnalysisOutputs.h"
#include "analysis/SlideAnalysis.h"
#include "image/ImageSource.h"
#include "model/Model.h"
#include "util/ProgressText.h"

#include <CLI/CLI.hpp>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <iostream>

namespace lucida::cli {
CLI::App* addAnalyseCommand(CLI::App& app, AnalyseArgs& a) {
    auto* cmd = app.add_subcommand(
        "analyse", "Run a model and a CAM method over every tissue patch of a slide");
    cmd->add_option("SLIDE", a.slide, "whole slide or large image")->required();
    cmd->add_option("--model", a.model, "TorchScript .pt or state_dict .pth with its sidecar")
        ->required();
    cmd->add_option("--method", a.method,
                    "cam, gradcam, gradcam++, xgradcam, hirescam, layercam, eigencam, scorecam")
        ->capture_default_str();
    cmd->add_option("--class", a.classChoice,
                    "class to explain: auto (a binary model's positive class, else the last), an "
                    "index or a name")
        ->capture_default_str();
    cmd->add_option("--layer", a.layer, "target layer (default: the sidecar's or the last block)");
    cmd->add_option("--overlap", a.overlap, "overlap of neighbouring patches, 0..0.75")
        ->check(CLI::Range(0.0, 0.75))
        ->capture_default_str();
    cmd->add_option("--min-tissue", a.minTissue, "least tissue share of an analysed patch")
        ->check(CLI::Range(0.0, 1.0))
        ->capture_default_str();
    cmd->add_flag("--no-tissue", a.noTissue, "analyse every patch, tissue or not");
    cmd->add_option("--batch", a.batch,
                    "patches per model call: auto (what fits the free memory) or a number")
        ->capture_default_str();
    cmd->add_option("--fit", a.fit,
                    "auto: the whole image resized to the model input when neither model nor "
                    "image has a physical scale (photos, MRI), else patches; whole; patches")
        ->check(CLI::IsMember({"auto", "whole", "patches"}))
        ->capture_default_str();
    cmd->add_option("--slice", a.slice, "slice of a DICOM series or multi-frame image (from 1)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
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

int runAnalyse(const AnalyseArgs& args) {
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
    auto source = openImage(args.slide);
    auto model = Model::open(args.model);
    for (const auto& notice : model->spec().notices) std::cerr << "note: " << notice << "\n";
    settings.method = args.method;
    settings.layer = args.layer;
    settings.overlap = args.overlap;
    settings.minTissue = args.minTissue;
    settings.detectTissue = !args.noTissue;
    settings.fit = args.fit == "whole"     ? ImageFit::WholeImage
                   : args.fit == "patches" ? ImageFit::Patches
                                           : ImageFit::Auto;
    settings.slice = args.slice - 1;
    if (args.classChoice != "auto") {
        const auto& classes = model->spec().classes;
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
    const std::string results = args.resultsDir.empty() ? args.outDir : args.resultsDir;
    InterruptGuard interrupt;
    AnalysisCallbacks callbacks;
    callbacks.cancelled = [&interrupt] { return interrupt.raised(); };
    callbacks.onProgress = [](const AnalysisProgress& p) {
        std::cerr << "\rpatches "
                  << progressText(p.done, p.total, p.patchesPerSecond, "patches", p.secondsLeft)
                  << "   " << std::flush;
    };
    // Another process writing the same results: say so once, then wait for it (Ctrl-C stops).
    bool waitShown = false;
    callbacks.onWaiting = [&waitShown](const SlideAnalysis&, const std::string& message) {
        if (!waitShown) std::cerr << "waiting: " << message << "\n";
        waitShown = true;
    };
    callbacks.onLoaded = [](const SlideAnalysis& a) {
        for (const auto& notice : a.notices) std::cerr << "note: " << notice << "\n";
    };
    const SlideAnalysis analysis = analyseSlide(*source, *model, settings, results, callbacks);
    std::cerr << "\n";
    if (!analysis.writer.empty())
        std::cerr << "stopped while " << analysis.writer << " was writing " << analysis.resultsDir
                  << "\n";
    if (analysis.reused)
        std::cerr << analysis.reused << " patches reused from " << analysis.resultsDir << "\n";
    std::string stem = std::filesystem::path(args.slide).filename().string();
    if (source->info().sliceCount > 1) stem += ".slice" + std::to_string(args.slice);
    const std::string json = writeAnalysisOutputs(analysis, source->info(), args.outDir, stem);
    std::cerr << "summary: " << json << "\n";
    if (!args.annotations.empty()) {
        const auto path = std::filesystem::path(args.outDir) / (stem + ".annotations.json");
        writeAnnotationHeat(args.annotations, args.annotationClass, source->info(),
                            stitchCam(analysis, CamNormalisation::Slide), path.string(), std::cerr);
    }
    if (!analysis.complete()) {
        std::cerr << "cancelled after " << analysis.doneCount() << " of "
                  << analysis.outcomes.size() << " patches; run again to resume\n";
        return 1;
    }
    return 0;
}

}  // namespace lucida::cli
