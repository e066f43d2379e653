#pragma once

#include "analysis/SlideAnalysis.h"

#include <optional>
#include <string>
#include <vector>

namespace lucida {

// A single-channel float raster laid over the slide: pixel (x, y) covers level-0 pixels
// [x * cellSize, (x + 1) * cellSize) (and the same in y).
struct FloatRaster {
    int width = 0, height = 0;
    double cellSize = 1;
    std::vector<float> values;  // row-major; NaN where nothing was analysed
    float at(int x, int y) const { return values[static_cast<std::size_t>(y) * width + x]; }
};

// Half the size: each cell the mean of the (up to) four it covers that have a value, NaN where
// none has. For zoomed-out views, which should show the mean heat of an area.
FloatRaster halveRaster(const FloatRaster& raster);

// One value per patch stride: the probability of `classIndex` (the patch's own cell; with
// overlap, the cell of the patch starting there).
FloatRaster probabilityRaster(const SlideAnalysis& analysis, int classIndex);

enum class CamNormalisation {
    Slide,  // one min-max scale over all patches: heat means the same everywhere (default)
    Patch,  // each patch's own min-max
};

// The CAM maps stitched into one raster of cam cells (patch side / cam width level-0 pixels each),
// normalised to [0, 1]. Overlapping patches are blended with weights that fall off towards each
// patch's border (a raised sine), so there are no seams; without overlap every cell is its one
// patch's value. A whole image (cells not square when its sides differ) is sampled at a quarter
// of its shorter cell side, each raster pixel the value of the cell under its centre. While an
// analysis is incomplete, cells that a patch not yet done also covers are NaN: every value shown
// is the one the complete analysis gives there (for the same scale), with no partial blend.
// `scaleLow/High` receive the raw range used (Slide normalisation): the done patches' range, or
// `fixedScale` when given — then values outside it are clamped to [0, 1], so a viewer can keep
// the colours of what it already shows while more patches arrive.
struct CamRange {
    float low = 0, high = 1;
    bool operator==(const CamRange&) const = default;
};
FloatRaster stitchCam(const SlideAnalysis& analysis, CamNormalisation normalisation,
                      float* scaleLow = nullptr, float* scaleHigh = nullptr,
                      const CamRange* fixedScale = nullptr);
// The raw range of the done patches' CAM values ({0, 1} when none is done).
CamRange camDataRange(const SlideAnalysis& analysis);

// Slide-level figures of the explained class.
struct AnalysisSummary {
    std::size_t patches = 0;  // analysed
    bool wholeImage = false;  // one patch, the whole image: its score is the image's probability
    double topMean = 0;       // mean probability of the top-k patches
    int topK = 0;
    double shareAbove = 0;  // share of patches with probability >= threshold
    double threshold = 0.5;
    std::vector<int> histogram;  // 20 bins over [0, 1]
    // A connected area of high probability: analysed patches with probability >= threshold,
    // 8-connected on the patch grid.
    struct Region {
        double x = 0, y = 0, width = 0, height = 0;  // level-0 bounds of its patches
        double probability = 0;                      // the peak: its highest patch's
        double peakX = 0, peakY = 0;                 // level-0 centre of that patch
        std::size_t patches = 0;
        // Level-0 pixels²: its patches' cells on the probability map (stride² each; the image's
        // area for a whole image). Times µm/px² (regionAreaText) for the physical area.
        double area = 0;
    };
    // Distinct regions, highest peak first, then the largest; at most `regions` of them.
    std::vector<Region> topRegions;
};
AnalysisSummary summarise(const SlideAnalysis& analysis, int topK = 10, double threshold = 0.5,
                          std::size_t regions = 10);

// The regions of summarise (AnalysisSummary::Region) for class `classIndex`: every connected
// area of analysed patches with probability >= threshold, highest peak first, then the largest
// area, then top-left first; at most `maxRegions`. Iterative (no recursion), memory by the
// number of patches above the threshold.
std::vector<AnalysisSummary::Region> findRegions(const SlideAnalysis& analysis, int classIndex,
                                                 double threshold, std::size_t maxRegions);

// A region's area in words: "0.52 mm²" or "5 200 µm²" with the image's µm/px (`micronsPerPixelX`,
// `micronsPerPixelY`), else "65 536 px²".
std::string regionAreaText(double areaPixels, std::optional<double> micronsPerPixelX,
                           std::optional<double> micronsPerPixelY);

// Writes "<stem>.probability.tiff", "<stem>.cam.tiff" (pyramidal float32 TIFFs with the slide's
// µm/px scaled to their cell size) and "<stem>.analysis.json" (settings, grid, summary, raster
// geometry) into `outDir`, atomically, plus "<stem>.probability.heat.tiff" and
// "<stem>.cam.heat.tiff": the same as 8-bit jet colours (glass white), which OpenSlide and the
// viewer open. Returns the JSON's path.
std::string writeAnalysisOutputs(const SlideAnalysis& analysis, const ImageInfo& slide,
                                 const std::string& outDir, const std::string& stem);

}  // namespace lucida
