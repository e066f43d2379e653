#include "CaseReport.h"

#include "CaseReportPdf.h"
#include "HeatmapOverlay.h"
#include "ImageDocument.h"
#include "SceneRenderer.h"
#include "TileService.h"
#include "analysis/AnalysisOutputs.h"
#include "io/AtomicFile.h"
#include "report/CaseReportData.h"

#include <QPainter>

#include <algorithm>
#include <cctype>
#include <filesystem>

namespace lucida::ui {
namespace {

constexpr QSize kThumbnailSize(1600, 1100);
constexpr int kCropSide = 640;

// The area shown around a region: its bounds, at least three patches wide, plus a margin, square.
RectF cropAround(const AnalysisSummary::Region& region, const SlideAnalysis& analysis) {
    const double side = std::max({region.width, region.height, analysis.grid.patchSize * 3}) * 1.25;
    const double cx = region.x + region.width / 2, cy = region.y + region.height / 2;
    return {cx - side / 2, cy - side / 2, side, side};
}

QRectF thumbnailBox(const AnalysisSummary::Region& region, const ImageInfo& info, QSize size) {
    const double w = double(info.width()), h = double(info.height());
    const double scale = std::min(size.width() / w, size.height() / h);
    const double ox = (size.width() - w * scale) / 2, oy = (size.height() - h * scale) / 2;
    return QRectF(ox + region.x * scale, oy + region.y * scale, region.width * scale,
                  region.height * scale);
}

QImage colourBarImage(ColourMap colours) {
    FloatRaster ramp;
    ramp.width = 256;
    ramp.height = 1;
    for (int i = 0; i < 256; ++i) ramp.values.push_back(float(i) / 255.0f);
    return colouriseRaster(ramp, colours, 0);
}

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    return text;
}

// A file name may itself name the patient (exports named after the patient's ID are common).
void withholdIdentifyingName(CaseReportData& data, const ImageInfo& info) {
    const std::string name = lower(data.imageName);
    for (const std::string& key : patientPropertyKeys()) {
        const std::string value = lower(info.property(key).value_or(""));
        for (std::size_t start = 0, end; start < value.size(); start = end + 1) {
            end = value.find_first_of(" ^,", start);
            if (end == std::string::npos) end = value.size();
            if (end - start >= 3 &&
                name.find(value.substr(start, end - start)) != std::string::npos) {
                data.imageName = "(file name withheld: it contains patient details)";
                return;
            }
        }
    }
}

// Renders the pictures with a renderer of its own, on the calling thread.
class ReportRenderer {
public:
    explicit ReportRenderer(const CaseReportRequest& request)
        : tiles_(std::size_t{128} << 20, 0),
          document_(request.source),
          renderer_(&document_, &tiles_) {
        const ImageInfo& info = document_.info();
        if (request.analysis->settings.slice > 0)
            document_.setSlice(request.analysis->settings.slice);
        renderer_.setBackground(Qt::white);
        overlay_.setImageSize(QSizeF(double(info.width()), double(info.height())));
        overlay_.setRasters(std::make_shared<const FloatRaster>(
                                stitchCam(*request.analysis, CamNormalisation::Slide)),
                            nullptr);
        overlay_.setColourMap(request.colours);
        overlay_.setOpacity(request.opacity);
        for (Layer* layer : overlay_.layers())
            renderer_.addLayer(layer, SceneRenderer::kAnalysisDepth);
    }
    ~ReportRenderer() {
        for (Layer* layer : overlay_.layers()) renderer_.removeLayer(layer);
    }

    QImage render(const RectF& region, QSize size, bool heat) {
        overlay_.setHeatmapVisible(heat);
        return renderer_.renderRegion(region, size).convertToFormat(QImage::Format_RGB32);
    }

private:
    TileService tiles_;
    ImageDocument document_;
    SceneRenderer renderer_;
    HeatmapOverlay overlay_;
};

}  // namespace

bool writeCaseReport(const CaseReportRequest& request, const CaseReportProgress& progress) {
    if (!request.source || !request.analysis)
        throw std::runtime_error("case report: no image or no stored analysis");
    CaseReportInputs inputs;
    inputs.analysis = request.analysis.get();
    inputs.image = &request.source->info();
    inputs.model = &request.model;
    inputs.modelPath = request.modelPath;
    inputs.annotations = request.annotations ? &*request.annotations : nullptr;
    inputs.includePatientDetails = request.includePatientDetails;
    inputs.maxRegions = request.maxRegions;
    CaseReportData data = gatherCaseReport(inputs);
    if (!request.includePatientDetails) withholdIdentifyingName(data, request.source->info());

    const int total = 2 + 2 * int(data.regions.size());
    int done = 0;
    auto advance = [&] {
        if (progress.step) progress.step(++done, total);
        return !(progress.cancelled && progress.cancelled());
    };
    CaseReportImages images;
    images.colourBar = colourBarImage(request.colours);
    ReportRenderer renderer(request);
    const ImageInfo& info = request.source->info();
    images.thumbnail =
        renderer.render({0, 0, double(info.width()), double(info.height())}, kThumbnailSize, true);
    if (!advance()) return false;
    for (const auto& region : data.regions) {
        images.thumbnailRegions.push_back(thumbnailBox(region, info, kThumbnailSize));
        const RectF crop = cropAround(region, *request.analysis);
        images.plainCrops.push_back(renderer.render(crop, {kCropSide, kCropSide}, false));
        if (!advance()) return false;
        images.heatCrops.push_back(renderer.render(crop, {kCropSide, kCropSide}, true));
        if (!advance()) return false;
    }
    const QByteArray pdf = layoutCaseReportPdf(data, images);
    writeFileAtomically(request.outputPath,
                        std::string_view(pdf.constData(), std::size_t(pdf.size())));
    if (progress.step) progress.step(total, total);
    return true;
}

}  // namespace lucida::ui
