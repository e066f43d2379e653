#pragma once
// Heat turned into annotations, and annotations asked about the heat: the editable regions above
// a threshold, and the share of the heat's energy inside a class's areas (energy-based pointing
// game: Wang et al., Score-CAM, 2020) with whether the peak lies inside.

#include "analysis/AnalysisOutputs.h"
#include "annotations/Annotation.h"

#include <string>
#include <vector>

namespace lucida {

struct HeatRegionOptions {
    double threshold = 0.5;    // on the heat's [0, 1] values
    double smoothCells = 1.0;  // Gaussian sigma, in heat cells, before thresholding; 0: none
    double minArea = 0;        // level-0 pixels²; smaller regions are left out
    std::string className;     // given to each region
};

// One polygon annotation (with holes) per connected region of heat >= threshold, outlines traced
// at a quarter cell and simplified to half a cell, in level-0 pixels; largest first.
std::vector<Annotation> heatRegions(const FloatRaster& heat, const HeatRegionOptions& options);

struct HeatInside {
    double energyShare = 0;  // sum of the heat inside / sum of all heat (NaN cells count 0)
    bool peakInside = false;
    Point2 peak;  // level-0 centre of the hottest cell (of a plateau, the one nearest its centre)
    double peakValue = 0;
    std::size_t areas = 0;  // annotations that took part
};

// For the area annotations in `areas`: how much of the heat they hold.
HeatInside heatInside(const FloatRaster& heat, const std::vector<const Annotation*>& areas);

}  // namespace lucida
