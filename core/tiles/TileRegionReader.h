#pragma once

#include "image/ImageSource.h"
#include "tiles/TileLoader.h"

#include <atomic>
#include <cstdint>
#include <memory>

namespace lucida {

// How a run's region reads were served. A read "from cache" decoded nothing: every tile it needed
// was cached (by the view, or by an earlier read) — one region decode saved.
struct RegionReads {
    std::size_t fromCache = 0;  // reads whose tiles were all cached
    std::size_t decoded = 0;    // reads that waited for at least one tile decode
    std::size_t direct = 0;     // reads at a level whose tiles cannot be assembled exactly
    // Tiles those reads found missing and waited for (two reads waiting for one decode, which
    // the loader coalesces, count twice).
    std::size_t tileMisses = 0;
};

// Reads any rectangle of one level through the shared TileCache and TileLoader, so an analysis is
// a client of the same tiles as the screen: the tiles covering the rectangle come from the cache
// when the view (or an earlier read) decoded them; missing ones are fetched through the loader
// (coalesced with a view's queued or running decode of the same tile) and stay cached for the
// view. The pixels equal source.readRegion(level, rect, slice), outside the level included
// (zeros). A level whose downsample is not a whole number is read directly: OpenSlide rounds the
// region's level-0 corner there, so tiles could differ from a direct read by a sub-pixel shift.
// Thread-safe; `source` must outlive the reader and every read.
class TileRegionReader {
public:
    static constexpr int kTileSize = 256;  // the viewer's tiles (ImageLayer::kTileSize)

    TileRegionReader(const ImageSource& source, TileLoader& loader, int tileSize = kTileSize);
    // Every read straight from the source, bypassing the tiles (the path before issue 12, for
    // benchmarks: LUCIDA_DIRECT_PATCH_READS=1 makes analyseSlide read so).
    explicit TileRegionReader(const ImageSource& source);

    PixelBuffer read(int level, const Rect& rect, int slice);
    // Whether `level` is read from tiles (else directly).
    static bool readsFromTiles(const ImageInfo& info, int level);

    RegionReads counts() const;

private:
    std::shared_ptr<const ImageSource> source_;  // not owning: fetch() wants a shared pointer
    TileLoader* loader_;                         // null: direct reads
    int tileSize_;
    std::atomic<std::size_t> fromCache_{0}, decoded_{0}, direct_{0}, tileMisses_{0};
};

}  // namespace lucida
