#pragma once
// The pointing game and the energy-based pointing game of CAM methods against the user's area
// annotations in the viewer: for each annotated region, the heat of the window around it (its
// bounding box plus half its larger side on every side) as the analysis makes it — stored results
// reused, missing patches explained and stored (computeRegionCams) — at the model's CAM cells,
// then core/checks/Localisation on that map and the region's cells. No Qt: runs on a worker.

#include "RegionCams.h"
#include "annotations/Annotation.h"
#include "model/FloatTensor.h"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace lucida {

// One annotated area (an area annotation; lines and points take no part).
struct LocalisationRegion {
    std::string id, name, className;
    Geometry geometry;  // level-0 pixels
};

struct RegionScore {
    bool hit = false;       // the window's peak cell lies inside the region (the CLI's rule)
    double energy = 0;      // share of the window's positive raw CAM energy inside the region
    bool analysed = false;  // some patch meeting the window has heat (no tissue: none)
};

struct MethodScore {
    std::string method;
    std::vector<RegionScore> regions;  // parallel to the request's regions
    int hits() const;
    double pointingAccuracy() const;  // hits / regions
    double energyMean() const;        // mean of the regions' energy shares
};

struct LocalisationRequest {
    AnalysisSettings settings;  // the session's: the method is replaced per method
    std::vector<std::string> methods;
    std::vector<LocalisationRegion> regions;
    std::string resultsRoot;
    double imageWidth = 0, imageHeight = 0;
};

struct LocalisationCallbacks {
    std::function<void(double share)> progress;  // 0..1 over every region and method
    std::function<bool()> cancelled;
};

// The window a region is scored in: its bounds with half the larger side around them, clipped
// to the image. Empty (width 0) for a region outside the image.
RectF localisationWindow(const Geometry& region, double imageWidth, double imageHeight);

// The window's cells of a region's CAM: [h, w] raw CAM values (NaN cells 0) of the raster cells
// whose centres lie in `window`, the first cell's (column, row) in the raster; `analysed` says
// whether any of them has heat.
FloatTensor windowMap(const RegionCam& cam, const RectF& window, int* column, int* row,
                      bool* analysed = nullptr);
// Cells of that map whose centres lie inside the region (even-odd over its rings).
std::vector<bool> regionMask(const Geometry& region, double cellSize, int column, int row,
                             int width, int height);

// One MethodScore per method, in order; nullopt when cancelled. Throws like computeRegionCams.
std::optional<std::vector<MethodScore>> scoreLocalisation(const ImageSource& source,
                                                          const Model& model,
                                                          const LocalisationRequest& request,
                                                          const LocalisationCallbacks& callbacks);

}  // namespace lucida
