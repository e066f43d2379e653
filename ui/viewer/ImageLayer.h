#pragma once

#include "ImageDocument.h"
#include "Layer.h"
#include "TileImage.h"
#include "tiles/TileGrid.h"
#include "tiles/TileKey.h"

#include <QCache>
#include <QImage>

#include <unordered_map>
#include <vector>

namespace lucida::ui {

class TileService;

// Tiles drawn on screen and a tile-display key: the tile, plus the grey window it was drawn with.
struct DisplayKey {
    TileKey tile;
    double centre = 0;
    double width = 0;
    bool operator==(const DisplayKey&) const = default;
};
size_t qHash(const DisplayKey& key, size_t seed = 0) noexcept;

// The image itself, the bottom of the stack: the tiles of the best level for the view from the
// shared TileCache, coarser levels showing through where finer tiles are missing. It never
// decodes; after each paint it says what was missing, and the caller asks the loader for it.
class ImageLayer final : public Layer {
public:
    static constexpr int kTileSize = 256;
    using HeldTiles = std::unordered_map<TileKey, TilePtr, TileKeyHash>;

    ImageLayer(ImageDocument* document, TileService* tiles);

    void paint(QPainter& painter, const LayerContext& context) override;

    // The tiles one view needs (best level, visible centre-out, then a prefetch ring).
    TilePlan plan(const ViewGeometry& view) const;
    // Tiles taken before the cache while set (an off-screen render holds what it waited for, so
    // the cache may evict meanwhile); null: the cache alone.
    void setHeldTiles(const HeldTiles* held) { held_ = held; }
    // Screen-side images kept for drawing, in KiB (a second copy of decoded tiles).
    void setDisplayCacheKiB(int kib) { displayCache_.setMaxCost(kib); }

    // After the last paint: the level drawn, the visible tiles of it that were missing, and what
    // to ask the loader for (those, then uncached tiles of the coarsest level behind them).
    int lastLevel() const { return lastLevel_; }
    const std::vector<TileKey>& missing() const { return missing_; }
    const std::vector<TileKey>& wanted() const { return wanted_; }
    const std::vector<TileKey>& prefetch() const { return prefetch_; }
    bool complete() const { return missing_.empty(); }

private:
    TilePtr find(const TileKey& key) const;
    const QImage* displayImage(const TileKey& key, const TilePtr& tile);
    void drawTile(QPainter& painter, const LayerContext& context, const TileKey& key,
                  const QImage& image) const;

    ImageDocument* document_;
    TileService* tiles_;
    const HeldTiles* held_ = nullptr;
    GrayLut grayLut_;
    Window lutWindow_;
    QCache<DisplayKey, QImage> displayCache_;
    int lastLevel_ = 0;
    std::vector<TileKey> missing_, wanted_, prefetch_;
};

}  // namespace lucida::ui
