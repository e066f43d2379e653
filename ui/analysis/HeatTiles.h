#pragma once

#include "analysis/AnalysisOutputs.h"
#include "cam/CamMaps.h"
#include "tiles/TileCache.h"
#include "tiles/TileKey.h"

#include <array>
#include <cmath>
#include <cstdint>
#include <memory>
#include <vector>

namespace lucida::ui {

// One heat raster (CAM or probability) published as a tiled, multi-level source keyed like image
// tiles and kept in the shared TileCache, under its byte budget, beside the image's tiles. Level k
// has 2^k level-0 pixels per heat pixel; a tile is kTileSize² heat pixels. Each heat pixel is the
// raster bilinearly interpolated at the pixel's centre (half-pixel centres, edges replicated: as
// OpenCV's INTER_LINEAR and `lucida-cli explain`), then coloured. Zoomed out, it samples the raster
// halved until its cells are no smaller than a heat pixel (values averaged, then coloured), so a
// pixel shows the mean heat of the area it covers. Cells without a value or below the threshold
// are holes: a pixel's colour is that of its valid neighbours, its opacity their share of the
// interpolation weights. Tiles are made when first drawn and dropped when the content changes.
class HeatTiles {
public:
    static constexpr int kTileSize = 256;

    HeatTiles();
    std::uint64_t sourceId() const { return sourceId_; }

    // New content (raster may be null): `reduced` holds halved copies made ahead (raster halved
    // 1, 2, … times; more are made when needed). Drops this source's tiles from `cache`.
    void setContent(std::shared_ptr<const FloatRaster> raster,
                    std::vector<std::shared_ptr<const FloatRaster>> reduced, ColourMap colours,
                    double threshold, TileCache& cache);
    const std::vector<std::shared_ptr<const FloatRaster>>& reduced() const { return reduced_; }

    // The level whose heat pixels are the largest no larger than a target pixel, for `scale`
    // target pixels per level-0 pixel.
    static int levelFor(double scale);
    // Level-0 pixels one tile of `level` spans.
    static double tileSpan(int level) { return kTileSize * std::ldexp(1.0, level); }

    TileKey key(int level, std::int64_t col, std::int64_t row) const;
    // The tile from `cache`, or made now and put there (null without content).
    TilePtr tile(TileCache& cache, const TileKey& key);
    // Halved copies made on demand (not ahead).
    int reductionsMade() const { return reductionsMade_; }

private:
    const FloatRaster& rasterFor(int level);

    std::uint64_t sourceId_;
    int generation_ = 0;
    std::shared_ptr<const FloatRaster> raster_;
    std::vector<std::shared_ptr<const FloatRaster>> reduced_;
    std::array<std::array<std::uint8_t, 3>, 256> colours_{};
    float threshold_ = 0;
    int reductionsMade_ = 0;
};

// Tile (col, row) of heat pixels `pixelSize` level-0 pixels wide from `raster` (see HeatTiles),
// with `colours` indexed by round(255 v). Pixels past the raster's extent are transparent.
PixelBuffer makeHeatTile(const FloatRaster& raster, double pixelSize, std::int64_t col,
                         std::int64_t row, int tileSize,
                         const std::array<std::array<std::uint8_t, 3>, 256>& colours,
                         float threshold);

}  // namespace lucida::ui

namespace lucida::ui {

// A whole image's CAM sampled smoothly on a grid 8 times finer than `stitched` (stitchCam's
// raster for it, 4 pixels per map cell): each pixel the map bilinearly interpolated at its centre
// (half-pixel centres, as `lucida-cli explain` upsamples), normalised with [low, high]. The heat
// tiles drawn from it are then the explain overlay's upsampling, not 4 × 4 blocks per map cell.
// Null for patches.
std::shared_ptr<const FloatRaster> smoothWholeImageCam(const SlideAnalysis& analysis,
                                                       const FloatRaster& stitched, float low,
                                                       float high);

}  // namespace lucida::ui
