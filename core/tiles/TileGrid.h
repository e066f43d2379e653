#pragma once

#include "image/ImageSource.h"
#include "tiles/TileKey.h"
#include "tiles/ViewGeometry.h"

#include <vector>

namespace lucida {

// Which level a view at `downsample` (level-0 pixels per screen pixel) reads: the coarsest level
// that is still at least as fine as the screen, as OpenSlide's best-level rule.
int bestLevelForDownsample(const std::vector<Level>& levels, double downsample);

// What one view needs: the tiles of the best level that cover it, nearest the centre first, and a
// ring of neighbours to prefetch. A pure function of the image and the view.
struct TilePlan {
    int level = 0;
    std::vector<TileKey> visible;
    std::vector<TileKey> prefetch;
};

TilePlan planTiles(const ImageInfo& info, std::uint64_t sourceId, int slice,
                   const ViewGeometry& view, int tileSize = 256, int prefetchRing = 1);

// All tiles of one level covering `levelRect` (in that level's pixels), centre-out ordering is left
// to the caller.
std::vector<TileKey> tilesInRect(const ImageInfo& info, std::uint64_t sourceId, int slice,
                                 int level, const RectF& levelRect, int tileSize);

}  // namespace lucida
