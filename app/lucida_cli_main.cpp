// lucida-cli: headless entry point.
// Exit codes: 0 success; 1 some input could not be read or explained (each named on stderr with the
// reason), or training was cancelled; 2 bad command line; 3 the model cannot be opened or run.
#include "CliAnnotations.h"
#include "CliExplain.h"
#include "CliInfo.h"
#include "CliMakeDemo.h"
#ifdef LUCIDA_WITH_TORCH
#include "CliAnalyse.h"
#include "CliBatch.h"
#include "CliCheck.h"
#include "CliEvaluate.h"
#include "CliTrain.h"
#endif
#ifdef LUCIDA_WITH_REPORT
#include "CliReport.h"
#endif
#ifdef LUCIDA_WITH_FIGURE
#include "CliFigure.h"
#endif

#include "engine/ModelEngine.h"
#include "image/ImageError.h"
#include "model/AllocatorMode.h"
#include "model/ModelError.h"
#include "version/Versions.h"

#include <CLI/CLI.hpp>

#include <fstream>
#include <iostream>

#ifdef LUCIDA_WITH_TORCH
namespace {
// A PyTorch archive (TorchScript or torch.save) is a zip file.
bool looksLikeModel(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    char magic[2] = {};
    in.read(magic, 2);
    return in && magic[0] == 'P' && magic[1] == 'K';
}
}  // namespace
#endif

int main(int argc, char** argv) {
    lucida::useTensorAllocator();  // training and inference: up to 1.6x (PERFORMANCE.md)
    CLI::App app{"Lucida command line: inspect images and models, explain classifications",
                 "lucida-cli"};
    app.require_subcommand(1);
    app.set_version_flag("--version", [] {
        std::vector<lucida::Component> components = lucida::libraryVersions();
#ifdef LUCIDA_WITH_TORCH
        try {  // loads the LibTorch plugin to name it
            for (lucida::Component& c : lucida::modelEngine().components())
                components.push_back(std::move(c));
        } catch (const std::exception& e) {
            components.push_back({"LibTorch", std::string("(cannot be loaded: ") + e.what() + ")"});
        }
#endif
        std::string report = lucida::versionReport("lucida-cli", components);
        report.pop_back();  // CLI11 ends the line itself
        return report;
    });

    std::string infoPath;
    bool infoJson = false;
    auto* info =
        app.add_subcommand("info", "Show what Lucida reads from an image, DICOM folder or model");
    info->add_option("PATH", infoPath, "image file, DICOM series folder, or model (.pt/.pth)")
        ->required();
    info->add_flag("--json", infoJson, "print JSON");

    std::string layersModel;
    auto* layers =
        app.add_subcommand("layers", "List a model's candidate target layers with output shapes");
    layers->add_option("--model", layersModel, "TorchScript .pt or torchvision ResNet .pth")
        ->required();

    lucida::cli::ExplainArgs ex;
    auto* explain =
        app.add_subcommand("explain", "Explain a model's decision on images with a CAM method");
    explain
        ->add_option("--model", ex.model,
                     "TorchScript .pt or torchvision ResNet .pth (sidecar .json beside it)")
        ->required();
    explain
        ->add_option("--method", ex.method,
                     "cam, gradcam, gradcam++, xgradcam, hirescam, layercam, eigencam, scorecam")
        ->capture_default_str();
    explain->add_option("--class", ex.classChoice, "auto (predicted), an index or a class name")
        ->capture_default_str();
    explain->add_option("--layer", ex.layer,
                        "target layer (default: the sidecar's, else the last conv block)");
    explain
        ->add_option("--norm", ex.norm,
                     "image: per-image min-max; shared: one scale for all images")
        ->check(CLI::IsMember({"image", "shared"}))
        ->capture_default_str();
    explain->add_option("--colour-map", ex.colourMap, "jet, viridis, turbo, inferno, grey")
        ->capture_default_str();
    explain->add_option("--opacity", ex.opacity, "heatmap opacity 0..1")
        ->check(CLI::Range(0.0, 1.0))
        ->capture_default_str();
    explain
        ->add_option("--batch", ex.batch,
                     "images per batch: auto (the largest that fits free memory) or a number")
        ->capture_default_str();
    explain
        ->add_option("--precision", ex.precision,
                     "fp32, bf16 (CPU or CUDA) or fp16 (CUDA only); maps are float32 either way")
        ->check(CLI::IsMember({"fp32", "fp16", "bf16"}))
        ->capture_default_str();
    lucida::cli::addSmoothingFlags(*explain, ex.eigenSmooth, ex.augmentSmooth);
    explain->add_option("--out", ex.outDir, "output folder")->required();
    explain->add_option("IMAGE", ex.images, "images (any format Lucida opens)")->required();

    // --- make-demo: synthetic H&E patches and slide (CliMakeDemo.cpp; no LibTorch needed) ---
    lucida::cli::MakeDemoArgs makeDemoArgs;
    auto* makeDemo = lucida::cli::addMakeDemoCommand(app, makeDemoArgs);
    // --- end make-demo ---
    lucida::cli::AnnotationsArgs annotationsArgs;
    const auto annotations = lucida::cli::addAnnotationsCommand(app, annotationsArgs);

#ifdef LUCIDA_WITH_TORCH
    lucida::TrainOptions trainOptions;
    auto* train = lucida::cli::addTrainCommand(app, trainOptions);
    lucida::cli::AnalyseArgs analyseArgs;
    auto* analyse = lucida::cli::addAnalyseCommand(app, analyseArgs);
    lucida::cli::BatchArgs batchArgs;
    const auto batch = lucida::cli::addBatchCommand(app, batchArgs);
    lucida::cli::EvaluateArgs evaluateArgs;
    auto* evaluate = lucida::cli::addEvaluateCommand(app, evaluateArgs);
    lucida::cli::CheckArgs checkArgs;
    auto* check = lucida::cli::addCheckCommand(app, checkArgs);
#endif
#ifdef LUCIDA_WITH_REPORT
    lucida::cli::ReportArgs reportArgs;
    auto* report = lucida::cli::addReportCommand(app, reportArgs);
#endif
#ifdef LUCIDA_WITH_FIGURE
    lucida::cli::FigureArgs figureArgs;
    auto* figure = lucida::cli::addFigureCommand(app, figureArgs);
#endif

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    }
    try {
#ifdef LUCIDA_WITH_TORCH
        if (*info && looksLikeModel(infoPath)) return lucida::cli::runModelInfo(infoPath, infoJson);
        if (*layers) return lucida::cli::runLayers(layersModel);
        if (*explain) return lucida::cli::runExplain(ex);
        if (*train) return lucida::cli::runTrain(trainOptions);
        if (*analyse) return lucida::cli::runAnalyse(analyseArgs);
        if (*batch.collect) return lucida::cli::runBatchCollect(batchArgs);
        if (*batch.batch) return lucida::cli::runBatch(batchArgs);
        if (*evaluate) return lucida::cli::runEvaluate(evaluateArgs);
        if (*check) return lucida::cli::runCheck(checkArgs);
#else
        if (*layers || *explain) {
            std::cerr << "lucida-cli: built without LibTorch (LUCIDA_WITH_TORCH=OFF)\n";
            return 2;
        }
#endif
#ifdef LUCIDA_WITH_REPORT
        if (*report) return lucida::cli::runReport(reportArgs);
#endif
#ifdef LUCIDA_WITH_FIGURE
        if (*figure) return lucida::cli::runFigure(figureArgs);
#endif
        if (*info) return lucida::cli::runInfo(infoPath, infoJson, std::cout);
        if (*makeDemo) return lucida::cli::runMakeDemo(makeDemoArgs, std::cerr);
        if (*annotations.convert)
            return lucida::cli::runAnnotationsConvert(annotationsArgs, std::cerr);
        if (*annotations.stats)
            return lucida::cli::runAnnotationsStats(annotationsArgs, std::cout, std::cerr);
    } catch (const lucida::ModelError& e) {
        std::cerr << "lucida-cli: " << e.what() << "\n";
        return 3;
    } catch (const lucida::ImageError& e) {
        std::cerr << "lucida-cli: " << e.what() << "\n";
        return 1;
    } catch (const std::invalid_argument& e) {
        std::cerr << "lucida-cli: " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "lucida-cli: " << e.what() << "\n";
        return 1;
    }
    return 2;
}
