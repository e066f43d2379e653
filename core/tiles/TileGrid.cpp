#include "tiles/TileGrid.h"

#include "tiles/CentreOut.h"

#include <algorithm>
#include <cmath>

namespace lucida {

int bestLevelForDownsample(const std::vector<Level>& levels, double downsample) {
    int best = 0;
    // A hair of tolerance: downsamples like 3.99987 count as 4.
    for (std::size_t i = 0; i < levels.size(); ++i)
        if (levels[i].downsample <= downsample * 1.0001) best = static_cast<int>(i);
    return best;
}

std::vector<TileKey> tilesInRect(const ImageInfo& info, std::uint64_t sourceId, int slice,
                                 int level, const RectF& r, int tileSize) {
    const Level& lv = info.level(level);
    const auto cols = (lv.width + tileSize - 1) / tileSize;
    const auto rows = (lv.height + tileSize - 1) / tileSize;
    // Clip to the level first, and end at the last tile the rect overlaps by a positive amount: a
    // tile it only touches along an edge, or one beyond the level's edge, is not needed.
    const double x0 = std::max(r.x, 0.0), y0 = std::max(r.y, 0.0);
    const double x1 = std::min(r.x + r.width, static_cast<double>(lv.width));
    const double y1 = std::min(r.y + r.height, static_cast<double>(lv.height));
    std::vector<TileKey> keys;
    if (!(x1 > x0 && y1 > y0)) return keys;
    const auto c0 = static_cast<std::int64_t>(std::floor(x0 / tileSize));
    const auto r0 = static_cast<std::int64_t>(std::floor(y0 / tileSize));
    const auto c1 =
        std::min<std::int64_t>(cols - 1, static_cast<std::int64_t>(std::ceil(x1 / tileSize)) - 1);
    const auto r1 =
        std::min<std::int64_t>(rows - 1, static_cast<std::int64_t>(std::ceil(y1 / tileSize)) - 1);
    for (auto row = r0; row <= r1; ++row)
        for (auto col = c0; col <= c1; ++col)
            keys.push_back({sourceId, level, slice, col, row, tileSize});
    return keys;
}

TilePlan planTiles(const ImageInfo& info, std::uint64_t sourceId, int slice,
                   const ViewGeometry& view, int tileSize, int prefetchRing) {
    TilePlan plan;
    plan.level = bestLevelForDownsample(info.levels, 1.0 / view.scale);
    const double ds = info.level(plan.level).downsample;
    const RectF v = view.visibleImageRect();
    const RectF levelRect{v.x / ds, v.y / ds, v.width / ds, v.height / ds};
    plan.visible = tilesInRect(info, sourceId, slice, plan.level, levelRect, tileSize);
    const PointF centre{view.centreX / ds, view.centreY / ds};
    auto tileCentre = [&](const TileKey& k) {
        return PointF{(k.col + 0.5) * tileSize, (k.row + 0.5) * tileSize};
    };
    sortCentreOut(plan.visible.begin(), plan.visible.end(), centre, tileCentre);
    if (prefetchRing > 0) {
        const double m = static_cast<double>(prefetchRing) * tileSize;
        const RectF grown{levelRect.x - m, levelRect.y - m, levelRect.width + 2 * m,
                          levelRect.height + 2 * m};
        for (const TileKey& k : tilesInRect(info, sourceId, slice, plan.level, grown, tileSize))
            if (std::find(plan.visible.begin(), plan.visible.end(), k) == plan.visible.end())
                plan.prefetch.push_back(k);
        sortCentreOut(plan.prefetch.begin(), plan.prefetch.end(), centre, tileCentre);
    }
    return plan;
}

}  // namespace lucida
