#include "HeatTiles.h"

#include <algorithm>
#include <atomic>
#include <cmath>

namespace lucida::ui {

namespace {

// Image sources count up from 1; derived sources (heat) take ids with the top bit set, so the
// two never share a cache key.
std::uint64_t newDerivedSourceId() {
    static std::atomic<std::uint64_t> next{1};
    return (std::uint64_t{1} << 63) | next.fetch_add(1);
}

// Per target pixel along one axis: the two cells interpolated and the second one's weight, or
// first < 0 past the raster's extent.
struct Tap {
    int first = -1, second = -1;
    float weight = 0;
};

std::vector<Tap> taps(std::int64_t start, int count, double pixelSize, double cellSize, int cells) {
    std::vector<Tap> out(static_cast<std::size_t>(count));
    const double extent = cells * cellSize;
    for (int i = 0; i < count; ++i) {
        const double centre = (static_cast<double>(start + i) + 0.5) * pixelSize;
        if (centre >= extent) break;
        const double u = std::clamp(centre / cellSize - 0.5, 0.0, double(cells - 1));
        const int first = std::min(static_cast<int>(u), cells - 1);
        out[static_cast<std::size_t>(i)] = {first, std::min(first + 1, cells - 1),
                                            static_cast<float>(u - first)};
    }
    return out;
}

}  // namespace

PixelBuffer makeHeatTile(const FloatRaster& r, double pixelSize, std::int64_t col, std::int64_t row,
                         int tileSize, const std::array<std::array<std::uint8_t, 3>, 256>& colours,
                         float threshold) {
    PixelBuffer out(tileSize, tileSize, PixelFormat::Rgba8);
    if (r.width <= 0 || r.height <= 0) return out;
    const auto xs = taps(col * tileSize, tileSize, pixelSize, r.cellSize, r.width);
    const auto ys = taps(row * tileSize, tileSize, pixelSize, r.cellSize, r.height);
    for (int y = 0; y < tileSize; ++y) {
        const Tap& ty = ys[static_cast<std::size_t>(y)];
        if (ty.first < 0) break;
        const float* rows[2] = {r.values.data() + static_cast<std::size_t>(ty.first) * r.width,
                                r.values.data() + static_cast<std::size_t>(ty.second) * r.width};
        const float wy[2] = {1 - ty.weight, ty.weight};
        std::uint8_t* line = out.row(y);
        for (int x = 0; x < tileSize; ++x) {
            const Tap& tx = xs[static_cast<std::size_t>(x)];
            if (tx.first < 0) break;
            const int cx[2] = {tx.first, tx.second};
            const float wx[2] = {1 - tx.weight, tx.weight};
            float sum = 0, weight = 0;
            for (int j = 0; j < 2; ++j)
                for (int i = 0; i < 2; ++i) {
                    const float v = rows[j][cx[i]];
                    if (std::isnan(v) || v < threshold) continue;  // a hole
                    const float w = wy[j] * wx[i];
                    sum += w * v, weight += w;
                }
            if (weight <= 0) continue;
            const float value = std::clamp(sum / weight, 0.0f, 1.0f);
            const auto& c = colours[static_cast<std::size_t>(std::lround(255 * value))];
            std::uint8_t* p = line + 4 * static_cast<std::size_t>(x);
            p[0] = c[0], p[1] = c[1], p[2] = c[2];
            p[3] = static_cast<std::uint8_t>(std::lround(255 * std::min(weight, 1.0f)));
        }
    }
    return out;
}

HeatTiles::HeatTiles() : sourceId_(newDerivedSourceId()) {}

void HeatTiles::setContent(std::shared_ptr<const FloatRaster> raster,
                           std::vector<std::shared_ptr<const FloatRaster>> reduced,
                           ColourMap colours, double threshold, TileCache& cache) {
    cache.removeSource(sourceId_);
    ++generation_;
    raster_ = std::move(raster);
    reduced_ = std::move(reduced);
    threshold_ = static_cast<float>(threshold);
    // The core's colours for each 8-bit value, as colouriseMap (and lucida-cli) colour a map.
    FloatTensor ramp({1, 256});
    for (int i = 0; i < 256; ++i) ramp.data[static_cast<std::size_t>(i)] = i / 255.0f;
    const PixelBuffer lut = colouriseMap(ramp, colours);
    for (int i = 0; i < 256; ++i) {
        const std::uint8_t* c = lut.rgbaAt(i, 0);
        colours_[static_cast<std::size_t>(i)] = {c[0], c[1], c[2]};
    }
}

int HeatTiles::levelFor(double scale) {
    if (!(scale > 0) || scale >= 1) return 0;
    return std::clamp(static_cast<int>(std::floor(std::log2(1.0 / scale) + 1e-9)), 0, 40);
}

TileKey HeatTiles::key(int level, std::int64_t col, std::int64_t row) const {
    TileKey k;
    k.sourceId = sourceId_;
    k.level = level;
    k.slice = generation_;  // the content's: a tile of older content is never taken for it
    k.col = col;
    k.row = row;
    k.tileSize = kTileSize;
    return k;
}

const FloatRaster& HeatTiles::rasterFor(int level) {
    // Halved while a cell stays no larger than a heat pixel: each pixel then averages the cells
    // it covers instead of sampling a few of them (which aliases into a plaid of the grid).
    const double pixel = std::ldexp(1.0, level);
    std::size_t halvings = 0;
    while (raster_->cellSize * std::ldexp(1.0, int(halvings) + 1) <= pixel && halvings < 40) {
        if (halvings >= reduced_.size()) {
            const FloatRaster& from = reduced_.empty() ? *raster_ : *reduced_.back();
            if (from.width < 2 || from.height < 2) break;
            reduced_.push_back(std::make_shared<const FloatRaster>(halveRaster(from)));
            ++reductionsMade_;
        }
        ++halvings;
    }
    return halvings == 0 ? *raster_ : *reduced_[halvings - 1];
}

TilePtr HeatTiles::tile(TileCache& cache, const TileKey& key) {
    if (!raster_ || raster_->width <= 0 || raster_->height <= 0) return nullptr;
    if (TilePtr cached = cache.find(key)) return cached;
    const FloatRaster& r = rasterFor(key.level);
    auto made = std::make_shared<const PixelBuffer>(makeHeatTile(
        r, std::ldexp(1.0, key.level), key.col, key.row, kTileSize, colours_, threshold_));
    cache.insert(key, made);
    return made;
}

}  // namespace lucida::ui

namespace lucida::ui {

std::shared_ptr<const FloatRaster> smoothWholeImageCam(const SlideAnalysis& a,
                                                       const FloatRaster& stitched, float low,
                                                       float high) {
    if (!a.grid.wholeImage || a.outcomes.empty() || !a.outcomes.front().done || a.camWidth <= 0 ||
        a.camHeight <= 0 || stitched.width <= 0 || stitched.height <= 0)
        return nullptr;
    const Patch& p = a.grid.patches.front();
    const std::vector<float>& cam = a.outcomes.front().cam;
    if (cam.size() != static_cast<std::size_t>(a.camWidth) * a.camHeight) return nullptr;
    const double cellX = p.width / a.camWidth, cellY = p.height / a.camHeight;
    // Eight times finer than the stitched raster (32 samples across the map's shorter cell): the
    // tiles' second interpolation then departs from explain's by a fraction of a colour level
    // beside the map's cell centres (where its slope turns).
    FloatRaster grid;
    grid.cellSize = std::max(stitched.cellSize / 8, 0.5);
    grid.width = static_cast<int>(std::ceil(p.width / grid.cellSize - 1e-9));
    grid.height = static_cast<int>(std::ceil(p.height / grid.cellSize - 1e-9));
    grid.values.resize(static_cast<std::size_t>(grid.width) * grid.height);
    auto xs = taps(0, grid.width, grid.cellSize, cellX, a.camWidth);
    auto ys = taps(0, grid.height, grid.cellSize, cellY, a.camHeight);
    // Raster pixels centred past the image's edge (its last ones): the edge value, as OpenCV's
    // border replication, so the tiles' interpolation up to the edge stays explain's.
    const auto toEdge = [](std::vector<Tap>& axis, int cells) {
        for (Tap& t : axis)
            if (t.first < 0) t = {cells - 1, cells - 1, 0.0f};
    };
    toEdge(xs, a.camWidth);
    toEdge(ys, a.camHeight);
    auto out = std::make_shared<FloatRaster>(std::move(grid));
    const float range = high - low;
    for (int y = 0; y < out->height; ++y)
        for (int x = 0; x < out->width; ++x) {
            const Tap& tx = xs[static_cast<std::size_t>(x)];
            const Tap& ty = ys[static_cast<std::size_t>(y)];
            const auto at = [&](int cx, int cy) {
                return cam[static_cast<std::size_t>(cy) * a.camWidth + cx];
            };
            float v = 0;
            if (tx.first >= 0 && ty.first >= 0) {
                const float top =
                    at(tx.first, ty.first) * (1 - tx.weight) + at(tx.second, ty.first) * tx.weight;
                const float bottom = at(tx.first, ty.second) * (1 - tx.weight) +
                                     at(tx.second, ty.second) * tx.weight;
                v = top * (1 - ty.weight) + bottom * ty.weight;
            }
            out->values[static_cast<std::size_t>(y) * out->width + x] =
                range > 0 ? std::clamp((v - low) / range, 0.0f, 1.0f) : 0.0f;
        }
    return out;
}

}  // namespace lucida::ui
