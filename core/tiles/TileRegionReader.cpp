#include "tiles/TileRegionReader.h"

#include "tiles/TileGrid.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <exception>
#include <future>
#include <utility>
#include <vector>

namespace lucida {

TileRegionReader::TileRegionReader(const ImageSource& source, TileLoader& loader, int tileSize)
    : source_(std::shared_ptr<const ImageSource>{}, &source),
      loader_(&loader),
      tileSize_(tileSize) {}

TileRegionReader::TileRegionReader(const ImageSource& source)
    : source_(std::shared_ptr<const ImageSource>{}, &source), loader_(nullptr), tileSize_(0) {}

bool TileRegionReader::readsFromTiles(const ImageInfo& info, int level) {
    if (level < 0 || level >= static_cast<int>(info.levels.size())) return false;
    const double ds = info.level(level).downsample;
    return ds >= 1 && ds == std::floor(ds);
}

PixelBuffer TileRegionReader::read(int level, const Rect& rect, int slice) {
    const ImageInfo& info = source_->info();
    std::vector<TileKey> keys;
    if (loader_ && readsFromTiles(info, level) && rect.width > 0 && rect.height > 0)
        keys = tilesInRect(
            info, source_->id(), slice, level,
            {double(rect.x), double(rect.y), double(rect.width), double(rect.height)}, tileSize_);
    if (keys.empty()) {  // not tile-exact, or nothing of the level inside: as before
        ++direct_;
        return source_->readRegion(level, rect, slice);
    }
    // Cached tiles first; every missing one is asked for before waiting for any, so the loader's
    // threads decode them side by side.
    std::vector<TilePtr> tiles(keys.size());
    std::vector<std::pair<std::size_t, std::shared_future<TilePtr>>> pending;
    TileCache& cache = loader_->cache();
    for (std::size_t i = 0; i < keys.size(); ++i) {
        const bool cached = cache.contains(keys[i]);
        std::shared_future<TilePtr> tile = loader_->fetch(source_, keys[i]);
        if (cached && tile.wait_for(std::chrono::seconds(0)) == std::future_status::ready)
            tiles[i] = tile.get();
        else
            pending.emplace_back(i, std::move(tile));
    }
    // Every fetch is waited for before an error is thrown: the loader holds `source_` (not
    // owned) until its decode is done.
    std::exception_ptr error;
    for (auto& [i, tile] : pending) {
        try {
            tiles[i] = tile.get();
        } catch (...) {
            if (!error) error = std::current_exception();
        }
    }
    if (error) std::rethrow_exception(error);
    ++(pending.empty() ? fromCache_ : decoded_);
    tileMisses_ += pending.size();

    PixelBuffer out(static_cast<int>(rect.width), static_cast<int>(rect.height),
                    tiles.front()->format);
    const int bpp = bytesPerPixel(out.format);
    for (std::size_t i = 0; i < keys.size(); ++i) {
        const Rect from = tileRect(info, keys[i]);
        const PixelBuffer& tile = *tiles[i];
        if (tile.format != out.format || tile.width != from.width || tile.height != from.height)
            return source_->readRegion(level, rect, slice);  // a source with mixed formats
        const std::int64_t x0 = std::max(from.x, rect.x), y0 = std::max(from.y, rect.y);
        const std::int64_t x1 = std::min(from.x + from.width, rect.x + rect.width);
        const std::int64_t y1 = std::min(from.y + from.height, rect.y + rect.height);
        if (x1 <= x0 || y1 <= y0) continue;
        const std::size_t bytes = static_cast<std::size_t>(x1 - x0) * bpp;
        for (std::int64_t y = y0; y < y1; ++y)
            std::memcpy(out.row(static_cast<int>(y - rect.y)) + (x0 - rect.x) * bpp,
                        tile.row(static_cast<int>(y - from.y)) + (x0 - from.x) * bpp, bytes);
    }
    return out;
}

RegionReads TileRegionReader::counts() const {
    return {fromCache_.load(), decoded_.load(), direct_.load(), tileMisses_.load()};
}

}  // namespace lucida
