#pragma once

#include "analysis/AnalysisOutputs.h"
#include "cam/CamMaps.h"
#include "tiles/TileCache.h"
#include "tiles/TileKey.h"

#include <array>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_set>
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
// interpolation weights.
//
// Tiles are made by a worker thread of the source's own, never by the caller, with TileLoader's
// contract: each request() replaces the previous one (newest wins, most urgent first), fetch()
// waits for one tile (off-screen renders). Painting takes what is cached. New colours or a new
// threshold drop all tiles; a new result of the same analysis (same raster size) is compared with
// the last one on the worker, and only the tiles over cells that changed, at every level, are
// marked stale: they stay drawable until remade; the others stay cached as they are.
class HeatTiles {
public:
    static constexpr int kTileSize = 256;
    using Colours = std::array<std::array<std::uint8_t, 3>, 256>;

    // `arrived` runs on the worker thread when tiles were cached or went stale (the owner
    // repaints; it must be quick and thread-safe).
    explicit HeatTiles(std::function<void()> arrived = {});
    ~HeatTiles();
    HeatTiles(const HeatTiles&) = delete;
    HeatTiles& operator=(const HeatTiles&) = delete;
    std::uint64_t sourceId() const { return sourceId_; }
    // Stops the worker (queued tiles are dropped, fetches broken); the destructor does it too.
    void stop();

    // New content (raster may be null): `reduced` holds halved copies made ahead (raster halved
    // 1, 2, … times; more are made when needed). Tiles go as described above.
    void setContent(std::shared_ptr<const FloatRaster> raster,
                    std::vector<std::shared_ptr<const FloatRaster>> reduced, ColourMap colours,
                    double threshold, TileCache& cache);
    std::vector<std::shared_ptr<const FloatRaster>> reduced() const;
    bool hasContent() const;

    // The level whose heat pixels are the largest no larger than a target pixel, for `scale`
    // target pixels per level-0 pixel.
    static int levelFor(double scale);
    // Level-0 pixels one tile of `level` spans.
    static double tileSpan(int level) { return kTileSize * std::ldexp(1.0, level); }
    // The coarsest level worth drawing for an image `extent` level-0 pixels across (one tile).
    static int coarsestLevel(double extent);

    TileKey key(int level, std::int64_t col, std::int64_t row) const;

    // The painting side, which never makes a tile: the cached tile (null if none) and whether it
    // shows the newest content (false: stale, to be remade).
    struct Cached {
        TilePtr tile;
        bool current = false;
    };
    Cached cached(const TileKey& key);
    // Replaces the previous request: the tiles to make, most urgent first (those cached and
    // current are skipped).
    void request(const std::vector<TileKey>& keys);
    // One tile of the newest content, made on the worker ahead of requests; ready at once when
    // cached and current. Null without content.
    std::shared_future<TilePtr> fetch(const TileKey& key);
    // Blocks until no comparison and no tile is queued or running (tests, benchmarks).
    void waitIdle();

    // Halved copies made on demand (not ahead), tiles made, stale tiles remade and tiles marked
    // stale by new results.
    int reductionsMade() const { return reductionsMade_.load(); }
    std::uint64_t tilesMade() const { return tilesMade_.load(); }
    std::uint64_t tilesMarkedStale() const { return tilesMarkedStale_.load(); }
    // The threads that made tiles (tests: never the caller's).
    std::vector<std::thread::id> makerThreads() const;

private:
    struct Content;
    struct Job;
    void startWorker();  // mutex held
    void workerLoop();
    void compareResults(std::unique_lock<std::mutex>& lock);
    void makeTile(std::unique_lock<std::mutex>& lock);
    bool isCurrent(const TileKey& key) const;  // mutex held
    void pruneMade();                          // mutex held

    const std::uint64_t sourceId_;
    std::function<void()> arrived_;
    mutable std::mutex mutex_;
    std::condition_variable wake_, idle_;
    std::shared_ptr<const Content> content_;
    std::shared_ptr<const Content> compareFrom_;  // the content tiles were made of before a result
    int generation_ = 0;
    TileCache* cache_ = nullptr;
    std::deque<Job> jobs_;  // fetches first, then the newest request in its order
    bool busy_ = false;     // a comparison or a tile in hand
    bool stopping_ = false;
    std::unordered_set<TileKey, TileKeyHash> made_;   // put in the cache (maybe evicted since)
    std::unordered_set<TileKey, TileKeyHash> stale_;  // cached, but older than the content
    std::size_t pruneAt_ = 4096;
    std::vector<std::thread::id> makers_;
    std::thread worker_;
    std::atomic<int> reductionsMade_{0};
    std::atomic<std::uint64_t> tilesMade_{0}, tilesMarkedStale_{0};
};

// Tile (col, row) of heat pixels `pixelSize` level-0 pixels wide from `raster` (see HeatTiles),
// with `colours` indexed by round(255 v). Pixels past the raster's extent are transparent.
PixelBuffer makeHeatTile(const FloatRaster& raster, double pixelSize, std::int64_t col,
                         std::int64_t row, int tileSize, const HeatTiles::Colours& colours,
                         float threshold);
// The colours of `colours` for each 8-bit value, as colouriseMap (and lucida-cli) colour a map.
HeatTiles::Colours colourTable(ColourMap colours);

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
