#pragma once
// A case report as a PDF: the data gathered in core (CaseReportData), the pictures rendered
// off-screen by the viewer's own SceneRenderer (slide with heat, region crops with and without
// heat), laid out by CaseReportPdf. Runs on any thread: it makes its own tile service, document
// and renderer, so a caller off the GUI thread decodes nothing on it.

#include "analysis/SlideAnalysis.h"
#include "annotations/Annotation.h"
#include "cam/CamMaps.h"
#include "image/ImageSource.h"
#include "model/ModelSpec.h"

#include <QImage>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace lucida::ui {

struct CaseReportRequest {
    std::shared_ptr<const ImageSource> source;
    std::shared_ptr<const SlideAnalysis> analysis;  // stored results (loadSlideAnalysis)
    ModelSpec model;
    std::string modelPath;
    std::optional<AnnotationSet> annotations;
    // DICOM patient name, ID and birth date: only in a report the user asked to carry them.
    bool includePatientDetails = false;
    ColourMap colours = ColourMap::Jet;
    double opacity = 0.5;
    std::size_t maxRegions = 6;
    std::string outputPath;  // .pdf, written atomically
};

// The pictures of a report: the whole image with heat, and per region a crop without and with it.
struct CaseReportImages {
    QImage thumbnail;
    std::vector<QRectF> thumbnailRegions;  // each region's box in thumbnail pixels
    std::vector<QImage> plainCrops, heatCrops;
    QImage colourBar;  // 256 × 1, the colour map from 0 to 1
};

struct CaseReportProgress {
    std::function<void(int done, int total)> step;  // any thread (the caller's)
    std::function<bool()> cancelled;                // polled between steps
};

// Writes the report; returns false when cancelled (nothing written). Throws std::runtime_error
// naming the file and reason when it cannot be written.
bool writeCaseReport(const CaseReportRequest& request, const CaseReportProgress& progress = {});

}  // namespace lucida::ui
