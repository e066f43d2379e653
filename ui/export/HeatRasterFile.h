#pragma once
// The float rasters `lucida-cli analyse` writes (<slide>.cam.tiff, <slide>.probability.tiff, with
// <slide>.analysis.json beside them) read back for a figure. Untrusted input: one float sample per
// pixel, tiled or striped, at most kMaxCells cells.

#include "analysis/AnalysisOutputs.h"

#include <string>

namespace lucida::ui {

struct AnalysisHeat {
    FloatRaster raster;  // 0 in the file (unanalysed, or the minimum) reads as NaN: not drawn
    std::string model, method, layer, className;
    bool cam = true;  // else the probability
};

// `analysisJson`: the analysis.json of `lucida-cli analyse`; `layer`: "cam" or "probability".
// Throws std::runtime_error naming the file and the reason.
AnalysisHeat readAnalysisHeat(const std::string& analysisJson, const std::string& layer);

// Level 0 of a one-sample float32 TIFF; cells are `cellSize` level-0 pixels of the slide.
FloatRaster readFloatRasterTiff(const std::string& path, double cellSize);

}  // namespace lucida::ui
