#include "CliReport.h"

#include "CaseReport.h"
#include "annotations/AnnotationFiles.h"
#include "engine/ModelEngine.h"
#include "image/ImageSource.h"
#include "model/Model.h"

#include <CLI/CLI.hpp>

#include <QGuiApplication>

#include <cstdlib>
#include <filesystem>
#include <iostream>

namespace lucida::cli {
namespace {

// Fonts need a QGuiApplication; the command line has no screen.
std::unique_ptr<QGuiApplication> guiForFonts() {
    if (QCoreApplication::instance()) return nullptr;
    if (!std::getenv("QT_QPA_PLATFORM")) setenv("QT_QPA_PLATFORM", "offscreen", 1);
    static int argc = 1;
    static char name[] = "lucida-cli";
    static char* argv[] = {name, nullptr};
    return std::make_unique<QGuiApplication>(argc, argv);
}

}  // namespace

CLI::App* addReportCommand(CLI::App& app, ReportArgs& a) {
    auto* cmd = app.add_subcommand(
        "report", "A PDF case report from a stored analysis (run analyse first, same settings)");
    cmd->add_option("SLIDE", a.analysis.slide, "the analysed slide or image")->required();
    addAnalysisOptions(*cmd, a.analysis);
    cmd->add_option("--results", a.resultsDir,
                    "where analyse kept its per-patch results (its --results, else its --out)")
        ->required();
    cmd->add_option("--out", a.out, "the PDF to write")->required();
    cmd->add_option("--annotations", a.annotations,
                    "GeoJSON or ASAP XML: counted and measured per class in the report");
    cmd->add_option("--regions", a.regions, "top regions shown as crops")
        ->check(CLI::Range(0, 20))
        ->capture_default_str();
    cmd->add_option("--colour-map", a.colourMap, "jet, viridis, turbo, inferno, grey")
        ->capture_default_str();
    cmd->add_option("--opacity", a.opacity, "heat opacity 0..1")
        ->check(CLI::Range(0.0, 1.0))
        ->capture_default_str();
    cmd->add_flag("--include-patient-details", a.includePatientDetails,
                  "put the DICOM patient name, ID and birth date in the report (left out unless "
                  "given)");
    return cmd;
}

int runReport(const ReportArgs& args) {
    const auto gui = guiForFonts();
    ui::CaseReportRequest request;
    request.source = openImage(args.analysis.slide);
    const auto model = modelEngine().openModel(args.analysis.model);
    const auto analysis = modelEngine().loadSlideAnalysis(
        *request.source, *model, settingsFromArgs(args.analysis, model->spec()), args.resultsDir);
    if (!analysis) {
        std::cerr << "lucida-cli: no stored analysis of " << args.analysis.slide
                  << " with these settings in " << args.resultsDir
                  << ": run lucida-cli analyse first (same model and settings)\n";
        return 1;
    }
    if (!analysis->complete())
        std::cerr << "note: the stored analysis is incomplete (" << analysis->doneCount() << " of "
                  << analysis->outcomes.size() << " patches); the report says so\n";
    request.analysis = std::make_shared<const SlideAnalysis>(*analysis);
    request.model = model->spec();
    request.modelPath = args.analysis.model;
    if (!args.annotations.empty()) {
        AnnotationImport in = readAnnotationFile(args.annotations);
        for (const auto& note : in.notes)
            std::cerr << "note: " << args.annotations << ": " << note << "\n";
        request.annotations = std::move(in.set);
    }
    request.includePatientDetails = args.includePatientDetails;
    request.colours = colourMapFromName(args.colourMap);
    request.opacity = args.opacity;
    request.maxRegions = args.regions;
    request.outputPath = args.out;
    ui::CaseReportProgress progress;
    progress.step = [](int done, int total) {
        std::cerr << "\rreport " << done << " / " << total << "   " << std::flush;
    };
    ui::writeCaseReport(request, progress);
    std::cerr << "\nreport: " << args.out << "\n";
    return 0;
}

}  // namespace lucida::cli
