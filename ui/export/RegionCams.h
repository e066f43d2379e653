#pragma once
// The CAM of one region under several methods or classes, for comparison figures: each one the
// analysis of the patches meeting the region (stored results reused, missing patches computed by
// the model engine and stored), stitched as the viewer stitches it and scaled to its own range
// over those patches. No Qt: runs on a worker thread.

#include "analysis/AnalysisOutputs.h"
#include "tiles/ViewGeometry.h"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace lucida {

class ImageSource;
class Model;

// One panel of a comparison: a CAM method and the class it explains (nullopt: the analysis'
// default, the positive or last class).
struct RegionCamRequest {
    std::string method;
    std::optional<int> classIndex;
};

struct RegionCam {
    FloatRaster raster;  // [0, 1] over the region's patches, NaN elsewhere
    std::string method;
    int explainedClass = 0;
    std::string className;
    std::size_t patches = 0;        // patches meeting the region
    std::size_t stored = 0;         // of them, read back from stored results
    float rawLow = 0, rawHigh = 1;  // the raw CAM range the raster is scaled by
};

struct RegionCamCallbacks {
    // (request index, patches done, patches of the region) after every batch.
    std::function<void(std::size_t, std::size_t, std::size_t)> progress;
    std::function<bool()> cancelled;  // polled between batches
};

// Canonical method name for a user's spelling: "gradcampp" and "grad-cam++" are "gradcam++".
// Throws std::invalid_argument naming the method and the known ones.
std::string canonicalCamMethod(const std::string& name);
// "Grad-CAM++" for "gradcam++", as papers write them.
std::string camMethodTitle(const std::string& method);

// `base` gives everything but method and class (fit, overlap, tissue, layer, slice); results are
// looked for and stored under `resultsRoot` (a run of the viewer or `lucida-cli analyse`), or,
// while another run writes there, under "<resultsRoot>/figure-panels". Returns one RegionCam per
// request, or nullopt when cancelled. Throws like analyseSlide (ModelError, ImageError,
// std::invalid_argument for a method or class the model lacks).
std::optional<std::vector<RegionCam>> computeRegionCams(
    const ImageSource& source, const Model& model, const AnalysisSettings& base,
    const std::vector<RegionCamRequest>& requests, const RectF& region,
    const std::string& resultsRoot, const RegionCamCallbacks& callbacks = {});

// The analysis restricted to the patches meeting `region` (others marked not done), stitched
// and scaled to their range: what computeRegionCams returns for one analysis.
RegionCam regionCamOf(const SlideAnalysis& analysis, const RectF& region);

}  // namespace lucida
