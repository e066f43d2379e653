#include "CliFigure.h"

#include "FigureRenderer.h"
#include "FigureWriter.h"
#include "HeatRasterFile.h"
#include "HeatmapOverlay.h"
#include "ImageDocument.h"
#include "TileService.h"
#include "annotations/AnnotationFiles.h"
#include "image/ImageSource.h"

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
    cmd->add_option("--annotations", a.annotations, "GeoJSON or ASAP XML annotations to draw");
    cmd->add_flag("--no-annotations", a.noAnnotations, "leave the annotations out");
    cmd->add_flag("--no-scale-bar", a.noScaleBar, "leave the scale bar out");
    cmd->add_flag("--no-colour-bar", a.noColourBar, "leave the colour bar out");
    cmd->add_flag("--no-caption", a.noCaption, "leave the caption out");
    cmd->add_flag("--overview", a.overview, "add an overview inset with the region marked");
    cmd->add_option("--caption", a.caption, "caption text (default: image, model, method, date)");
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
    const auto app = guiApplication();
    ui::TileService tiles(std::size_t{512} << 20, 0);
    ui::ImageDocument document(openImage(a.image));
    const ImageInfo& info = document.info();
    if (a.slice < 1 || a.slice > info.sliceCount)
        throw std::invalid_argument("--slice must be 1.." + std::to_string(info.sliceCount));
    document.setSlice(a.slice - 1);

    ui::FigureOptions o;
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
    if (a.compare) {
        if (!sources.heat) throw std::invalid_argument("--compare needs --analysis");
        o.panels = {ui::FigurePanel{false, QObject::tr("Image")},
                    ui::FigurePanel{true, QString::fromStdString(heat.method)}};
    } else {
        o.panels = {ui::FigurePanel{sources.heat != nullptr, {}}};
    }
    o.annotations = !a.noAnnotations;
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
