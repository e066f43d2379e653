#pragma once

#include "image/ImageSource.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace lucida {

// Where the tissue is on a slide, from a thumbnail: Otsu's threshold on HSV saturation (glass is
// grey-white, stained tissue is coloured), holes filled, specks smaller than `minSpeckArea` of the
// thumbnail removed. Pixel (x, y) of `mask` covers level-0 pixels [x*downsample, (x+1)*downsample).
// Grey (Gray16: DICOM, MRI, CT) sources have no stain to look for: their mask is all tissue.
struct TissueMask {
    int width = 0, height = 0;
    double downsample = 1;           // level-0 pixels per mask pixel
    std::vector<std::uint8_t> mask;  // 255 tissue, 0 background, row-major
    double threshold = 0;            // the saturation threshold chosen (0..255)
    // Outlines of the tissue regions in level-0 coordinates (for drawing), outer contours only.
    std::vector<std::vector<std::pair<double, double>>> outlines;

    bool at(int x, int y) const { return mask[static_cast<std::size_t>(y) * width + x] != 0; }
    // Running sums of tissue pixels, (width+1) x (height+1), so coverage() is O(1) per call.
    // detectTissue builds it; call updateIntegral() after changing `mask` by hand (until then
    // coverage() sums the mask directly, which gives the same answer, slower).
    std::vector<double> integral;

    // Share of tissue in a level-0 rectangle (0..1), area-weighted where the rectangle cuts mask
    // pixels; the part outside the image counts as background. 0 for an empty rectangle.
    double coverage(double x, double y, double w, double h) const;
    void updateIntegral();
};

struct TissueOptions {
    int thumbnailMaxSide = 2048;   // the thumbnail is read from the level closest above this
    double minSpeckArea = 0.0005;  // share of the thumbnail area below which a region is dropped
    double minThreshold = 12;      // saturation never counted as tissue below this (empty glass)
};

// Throws ImageError (path, reason) from the source.
TissueMask detectTissue(const ImageSource& source, const TissueOptions& options = {});

}  // namespace lucida
