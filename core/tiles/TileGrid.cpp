#include "tiles/TileGrid.h"

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

std::vector<TileKey> tilesInRect(const ImageInfo& info, std::uint64_t sourceId, int slice, int level,
                                 const RectF& r, int tileSize) {
    const Level& lv = info.level(level);
    const auto cols = (lv.width + tileSize - 1) / tileSize;
    const auto rows = (lv.height + tileSize - 1) / tileSize;
    const auto c0 = std::max<std::int64_t>(0, static_cast<std::int64_t>(std::floor(r.x / tileSize)));
    const auto r0 = std::max<std::int64_t>(0, static_cast<std::int64_t>(std::floor(r.y / tileSize)));
    const auto c1 = std::min<std::int64_t>(cols - 1, static_cast<std::int64_t>(std::floor((r.x + r.width) / tileSize)));
    const auto r1 = std::min<std::int64_t>(rows - 1, static_cast<std::int64_t>(std::floor((r.y + r.height) / tileSize)));
    std::vector<TileKey> keys;
    for (auto row = r0; row <= r1; ++row)
        for (auto col = c0; col <= c1; ++col) keys.push_back({sourceId, level, slice, col, row, tileSize});
    return keys;
}

TilePlan planTiles(const ImageInfo& info, std::uint64_t sourceId, int slice, const ViewGeometry& view,
                   int tileSize, int prefetchRing) {
    TilePlan plan;
    plan.level = bestLevelForDownsample(info.levels, 1.0 / view.scale);
    const double ds = info.level(plan.level).downsample;
    const RectF v = view.visibleImageRect();
    const RectF levelRect{v.x / ds, v.y / ds, v.width / ds, v.height / ds};
    plan.visible = tilesInRect(info, sourceId, slice, plan.level, levelRect, tileSize);
    const double cx = view.centreX / ds, cy = view.centreY / ds;
    auto distance = [&](const TileKey& k) {
        const double dx = (k.col + 0.5) * tileSize - cx, dy = (k.row + 0.5) * tileSize - cy;
        return dx * dx + dy * dy;
    };
    auto byDistance = [&](const TileKey& a, const TileKey& b) { return distance(a) < distance(b); };
    std::sort(plan.visible.begin(), plan.visible.end(), byDistance);
    if (prefetchRing > 0) {
        const double m = static_cast<double>(prefetchRing) * tileSize;
        const RectF grown{levelRect.x - m, levelRect.y - m, levelRect.width + 2 * m, levelRect.height + 2 * m};
        for (const TileKey& k : tilesInRect(info, sourceId, slice, plan.level, grown, tileSize))
            if (std::find(plan.visible.begin(), plan.visible.end(), k) == plan.visible.end())
                plan.prefetch.push_back(k);
        std::sort(plan.prefetch.begin(), plan.prefetch.end(), byDistance);
    }
    return plan;
}

}  // namespace lucida
