#include "CliFigure.h"

#include "ComparisonPanels.h"
#include "FigureRenderer.h"
#include "FigureWriter.h"
#include "HeatRasterFile.h"
#include "HeatmapOverlay.h"
#include "ImageDocument.h"
#include "TileService.h"
#include "annotations/AnnotationFiles.h"
#include "engine/ModelEngine.h"
#include "image/ImageSource.h"
#include "model/Model.h"

#include <CLI/CLI.hpp>

#include <QGuiApplication>

#include <cstdio>
#include <iostream>
#include <sstream>

namespace lucida::cli {

namespace {

RectF parseRegion(const std::string& text) {
    RectF r;
    char c1 = 0, c2 = 0, c3 = 0;
    std::istringstream in(text);
    if (!(in >> r.x >> c1 >> r.y >> c2 >> r.width >> c3 >> r.height) || c1 != ',' || c2 != ',' ||
        c3 != ',' || r.width <= 0 || r.height <= 0 || !(in >> std::ws).eof())
        throw std::invalid_argument("--region must be x,y,width,height in level-0 pixels, not '" +
                                    text + "'");
    return r;
}

std::vector<std::string> splitList(const std::string& text) {
    std::vector<std::string> items;
    std::istringstream in(text);
    for (std::string item; std::getline(in, item, ',');)
        if (!item.empty()) items.push_back(item);
    return items;
}

// A class by name or index; nullopt for "auto".
std::optional<int> classOf(const std::string& choice, const ModelSpec& spec) {
    if (choice == "auto") return std::nullopt;
    for (std::size_t i = 0; i < spec.classes.size(); ++i)
        if (spec.classes[i] == choice) return int(i);
    if (!choice.empty() && std::all_of(choice.begin(), choice.end(), ::isdigit) &&
        std::stoi(choice) < spec.classCount())
        return std::stoi(choice);
    std::string known;
    for (const auto& c : spec.classes) known += (known.empty() ? "" : ", ") + c;
    throw std::invalid_argument("class '" + choice + "' is not one of the model's (" + known + ")");
}

ImageFit fitOf(const std::string& name) {
    if (name == "whole") return ImageFit::WholeImage;
    if (name == "patches") return ImageFit::Patches;
    return ImageFit::Auto;
}

// The panels of --compare-methods / --compare-classes: each one's heat computed for the region.
std::unique_ptr<ui::ComparisonPanels> comparisonPanels(const cli::FigureArgs& a,
                                                       const ImageSource& source,
                                                       const RectF& region) {
    if (a.model.empty())
        throw std::invalid_argument("--compare-methods/--compare-classes need --model");
    if (!a.analysis.empty() || a.compare)
        throw std::invalid_argument(
            "--compare-methods/--compare-classes compute their own heat: leave out --analysis "
            "and --compare");
    const auto model = modelEngine().openModel(a.model);
    std::vector<RegionCamRequest> requests;
    if (!a.compareMethods.empty()) {
        const std::optional<int> cls = classOf(a.classChoice, model->spec());
        for (const std::string& m : splitList(a.compareMethods))
            requests.push_back({canonicalCamMethod(m), cls});
    } else {
        const std::string method = canonicalCamMethod(a.method);
        for (const std::string& c : splitList(a.compareClasses))
            requests.push_back({method, classOf(c, model->spec())});
    }
    if (requests.size() < 2 || requests.size() > 6)
        throw std::invalid_argument("a comparison needs 2 to 6 methods or classes, not " +
                                    std::to_string(requests.size()));
    AnalysisSettings settings;
    settings.layer = a.layer;
    settings.overlap = a.overlap;
    settings.fit = fitOf(a.fit);
    settings.detectTissue = !a.noTissue;
    settings.slice = a.slice - 1;
    settings.batchSize = 0;
    const std::string root = a.results.empty() ? defaultResultsRoot(a.image) : a.results;
    RegionCamCallbacks callbacks;
    callbacks.progress = [&](std::size_t r, std::size_t done, std::size_t total) {
        std::cerr << "\rfigure: " << requests[r].method << " " << done << " / " << total
                  << " patches   " << std::flush;
    };
    const auto cams =
        computeRegionCams(source, *model, settings, requests, region, root, callbacks);
    std::cerr << "\n";
    if (!cams || cams->front().patches == 0)
        throw std::invalid_argument(
            "no analysed patch meets the region (no tissue there? try --no-tissue)");
    for (const RegionCam& cam : *cams)
        std::cerr << "figure: " << camMethodTitle(cam.method) << ", class " << cam.className << ": "
                  << cam.patches << " patches (" << cam.stored << " stored)\n";
    const ImageInfo& info = source.info();
    return std::make_unique<ui::ComparisonPanels>(
        *cams, QSizeF(double(info.width()), double(info.height())), colourMapFromName(a.colours),
        a.opacity, a.threshold);
}

// Painting text needs a QGuiApplication; without a display, Qt's offscreen platform.
std::unique_ptr<QGuiApplication> guiApplication() {
    if (QGuiApplication::instance()) return nullptr;
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
    static int argc = 1;
    static char name[] = "lucida-cli";
    static char* argv[] = {name, nullptr};
    return std::make_unique<QGuiApplication>(argc, argv);
}

}  // namespace

CLI::App* addFigureCommand(CLI::App& app, FigureArgs& a) {
    auto* cmd = app.add_subcommand(
        "figure", "Export a figure of a region: slide, heat, annotations, scale bar, caption");
    cmd->add_option("IMAGE", a.image, "slide or image")->required();
    cmd->add_option("--out", a.out, "figure file: .png, .tif, .jpg, .svg or .pdf")->required();
    auto* region = cmd->add_option("--region", a.region, "x,y,width,height in level-0 pixels");
    cmd->add_flag("--whole", a.whole, "the whole image (the default)")->excludes(region);
    auto* px = cmd->add_option("--width-px", a.widthPx, "figure width in pixels");
    cmd->add_option("--width-mm", a.widthMm, "figure width in millimetres at --dpi")->excludes(px);
    cmd->add_option("--dpi", a.dpi, "dots per inch recorded in the file")
        ->check(CLI::Range(30, 2400))
        ->capture_default_str();
    cmd->add_option("--analysis", a.analysis,
                    "<slide>.analysis.json written by `lucida-cli analyse`: draws its heat");
    cmd->add_option("--heat-layer", a.heatLayer, "cam or probability")
        ->check(CLI::IsMember({"cam", "probability"}))
        ->capture_default_str();
    cmd->add_option("--colours", a.colours, "jet, viridis, turbo, inferno, grey")
        ->capture_default_str();
    cmd->add_option("--opacity", a.opacity, "heat opacity 0..1")
        ->check(CLI::Range(0.0, 1.0))
        ->capture_default_str();
    cmd->add_option("--threshold", a.threshold, "heat below this (0..1) is not drawn")
        ->check(CLI::Range(0.0, 1.0))
        ->capture_default_str();
    cmd->add_flag("--compare", a.compare, "two panels: the image | the image with heat");
    auto* methods = cmd->add_option(
        "--compare-methods", a.compareMethods,
        "panels of the region under these CAM methods, e.g. gradcam,gradcam++,scorecam");
    cmd->add_option("--compare-classes", a.compareClasses,
                    "panels of the region explaining these classes (names or indices)")
        ->excludes(methods);
    cmd->add_option("--model", a.model, "the model the comparison panels' heat comes from");
    cmd->add_option("--method", a.method, "CAM method of --compare-classes")->capture_default_str();
    cmd->add_option("--class", a.classChoice, "class of --compare-methods (name or index)")
        ->capture_default_str();
    cmd->add_option("--results", a.results,
                    "per-patch results to reuse and add to (default: <image>.lucida)");
    cmd->add_option("--layer", a.layer, "target layer (default: the model's)");
    cmd->add_option("--overlap", a.overlap, "patch overlap 0..0.75")->check(CLI::Range(0.0, 0.75));
    cmd->add_option("--fit", a.fit, "auto, whole or patches")
        ->check(CLI::IsMember({"auto", "whole", "patches"}))
        ->capture_default_str();
    cmd->add_flag("--no-tissue", a.noTissue, "analyse every patch (no tissue detection)");
    cmd->add_flag("--with-image", a.withImage, "comparison: a panel of the image alone first");
    cmd->add_option("--annotations", a.annotations, "GeoJSON or ASAP XML annotations to draw");
    cmd->add_flag("--no-annotations", a.noAnnotations, "leave the annotations out");
    cmd->add_flag("--measurements", a.measurements,
                  "each annotation's area or length beside its label");
    cmd->add_flag("--no-scale-bar", a.noScaleBar, "leave the scale bar out");
    cmd->add_flag("--no-colour-bar", a.noColourBar, "leave the colour bar out");
    cmd->add_flag("--no-caption", a.noCaption, "leave the caption out");
    cmd->add_flag("--overview", a.overview, "add an overview inset with the region marked");
    cmd->add_option("--caption", a.caption, "caption text (default: image, model, method, date)");
    cmd->add_option("--place", a.place,
                    "move an item: ITEM=x,y, its top-left as fractions (0..1) of the figure's "
                    "width and height; ITEM caption, scaleBar, colourBar or overview (repeatable)");
    cmd->add_flag("--include-patient-details", a.includePatientDetails,
                  "put the DICOM patient's name, ID and birth date in the caption");
    cmd->add_option("--slice", a.slice, "slice of a DICOM series (from 1)")->capture_default_str();
    return cmd;
}

int runFigure(const FigureArgs& a) {
    const auto format = ui::figureFormatFor(QString::fromStdString(a.out));
    if (!format)
        throw std::invalid_argument("--out " + a.out + ": use .png, .tif, .jpg, .svg or .pdf");
    const ColourMap colours = colourMapFromName(a.colours);
    if (!a.model.empty() && a.compareMethods.empty() && a.compareClasses.empty())
        throw std::invalid_argument(
            "--model is for --compare-methods or --compare-classes (a single heat comes from "
            "--analysis)");
    const auto app = guiApplication();
    ui::TileService tiles(std::size_t{512} << 20, 0);
    ui::ImageDocument document(openImage(a.image));
    const ImageInfo& info = document.info();
    if (a.slice < 1 || a.slice > info.sliceCount)
        throw std::invalid_argument("--slice must be 1.." + std::to_string(info.sliceCount));
    document.setSlice(a.slice - 1);

    ui::FigureOptions o;
    for (const std::string& place : a.place)  // before any long work: a typo fails at once
        ui::parseFigurePlace(QString::fromStdString(place), o.placement);
    o.region = a.region.empty() ? RectF{0, 0, double(info.width()), double(info.height())}
                                : parseRegion(a.region);
    o.dpi = a.dpi;
    o.widthPx = a.widthMm ? ui::pixelsForMillimetres(*a.widthMm, a.dpi) : a.widthPx.value_or(1600);
    if (o.widthPx < 16 || o.widthPx > ui::FigureRenderer::kMaxSide)
        throw std::invalid_argument("the figure's width must be 16.." +
                                    std::to_string(ui::FigureRenderer::kMaxSide) + " pixels");

    ui::FigureSources sources{&document, &tiles};
    ui::HeatmapOverlay overlay;
    ui::AnalysisHeat heat;
    if (!a.analysis.empty()) {
        heat = ui::readAnalysisHeat(a.analysis, a.heatLayer);
        overlay.setImageSize(QSizeF(double(info.width()), double(info.height())));
        auto raster = std::make_shared<const FloatRaster>(heat.raster);
        overlay.setRasters(heat.cam ? raster : nullptr, heat.cam ? nullptr : raster);
        overlay.setLayer(heat.cam ? ui::HeatmapOverlay::Layer::Cam
                                  : ui::HeatmapOverlay::Layer::Probability);
        overlay.setColourMap(colours);
        overlay.setOpacity(a.opacity);
        overlay.setThreshold(a.threshold);
        sources.heat = overlay.layers().front();
        sources.colours = colours;
        sources.threshold = a.threshold;
        o.colourBarLabel =
            QString::fromStdString((heat.cam ? heat.method : std::string("probability")) +
                                   (heat.className.empty() ? "" : " · class " + heat.className) +
                                   (heat.cam ? " · slide-wide scale" : ""));
    }
    AnnotationSet annotations;
    if (!a.annotations.empty() && !a.noAnnotations) {
        AnnotationImport imported = readAnnotationFile(a.annotations);
        for (const std::string& note : imported.notes) std::cerr << "note: " << note << "\n";
        annotations = std::move(imported.set);
        sources.annotations = &annotations;
    }
    std::unique_ptr<ui::ComparisonPanels> comparison;
    if (!a.compareMethods.empty() || !a.compareClasses.empty()) {
        comparison = comparisonPanels(a, *document.source(), o.region);
        comparison->apply(o, a.withImage);
        sources.colours = colourMapFromName(a.colours);
        sources.threshold = a.threshold;
        heat.method = comparison->methods().toStdString();
        heat.className = comparison->classes().toStdString();
        heat.model = a.model;
        heat.layer = a.layer;
    } else if (a.compare) {
        if (!sources.heat) throw std::invalid_argument("--compare needs --analysis");
        o.panels = {ui::FigurePanel{false, QObject::tr("Image")},
                    ui::FigurePanel{true, QString::fromStdString(heat.method)}};
    } else {
        o.panels = {ui::FigurePanel{sources.heat != nullptr, {}}};
    }
    o.annotations = !a.noAnnotations;
    o.measurements = a.measurements;
    o.scaleBar = !a.noScaleBar;
    o.colourBar = !a.noColourBar;
    o.caption = !a.noCaption;
    o.overview = a.overview;
    o.includePatientDetails = a.includePatientDetails;
    o.captionText = a.caption
                        ? QString::fromStdString(*a.caption)
                        : ui::defaultFigureCaption(document, QString::fromStdString(heat.model),
                                                   QString::fromStdString(heat.method),
                                                   QString::fromStdString(heat.layer),
                                                   QString::fromStdString(heat.className));
    const ui::FigureRenderer renderer(sources);
    ui::writeFigure(QString::fromStdString(a.out), renderer, o);
    const QSize size = renderer.layout(o).size;
    std::cerr << "figure: " << a.out << " (" << size.width() << "x" << size.height() << " px, "
              << a.dpi << " dpi)\n";
    return 0;
}

}  // namespace lucida::cli
