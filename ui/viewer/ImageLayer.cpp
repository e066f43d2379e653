#include "ImageLayer.h"

#include "TileService.h"
#include "tiles/TileLoader.h"

#include <QPainter>

#include <algorithm>
#include <cmath>

namespace lucida::ui {

namespace {
constexpr int kMinDisplayCacheKiB = 16 * 1024;
}  // namespace

size_t qHash(const DisplayKey& k, size_t seed) noexcept {
    return ::qHashMulti(seed, TileKeyHash{}(k.tile), k.centre, k.width);
}

ImageLayer::ImageLayer(ImageDocument* document, TileService* tiles)
    : document_(document), tiles_(tiles), displayCache_(kMinDisplayCacheKiB) {}

TilePlan ImageLayer::plan(const ViewGeometry& view) const {
    return planTiles(document_->info(), document_->source()->id(), document_->slice(), view,
                     kTileSize, 1);
}

TilePtr ImageLayer::find(const TileKey& key) const {
    if (held_)
        if (auto it = held_->find(key); it != held_->end() && it->second) return it->second;
    return tiles_->cache().find(key);
}

const QImage* ImageLayer::displayImage(const TileKey& key, const TilePtr& tile) {
    const bool gray = tile->format == PixelFormat::Gray16;
    const Window& window = document_->window();
    if (gray && (grayLut_.empty() || lutWindow_.centre != window.centre ||
                 lutWindow_.width != window.width)) {
        grayLut_ = GrayLut(document_->info().grayMapping, window);
        lutWindow_ = window;
    }
    const DisplayKey dk{key, gray ? window.centre : 0.0, gray ? window.width : 0.0};
    if (const QImage* cached = displayCache_.object(dk)) return cached;
    auto* image = new QImage(toDisplayImage(*tile, grayLut_));
    const int cost = std::max<int>(1, static_cast<int>(image->sizeInBytes() / 1024));
    displayCache_.insert(dk, image, cost);
    return displayCache_.object(dk);
}

void ImageLayer::drawTile(QPainter& painter, const LayerContext& c, const TileKey& key,
                          const QImage& image) const {
    // Tile edges are rounded to whole pixels so neighbours share them exactly: no seams at any
    // zoom.
    const ImageInfo& info = document_->info();
    const double ds = info.level(key.level).downsample;
    const Rect r = tileRect(info, key);
    const PointF a = c.frame.toScreen({double(r.x) * ds, double(r.y) * ds});
    const PointF b = c.frame.toScreen({double(r.x + r.width) * ds, double(r.y + r.height) * ds});
    const QRectF target(QPointF(std::round(a.x), std::round(a.y)),
                        QPointF(std::round(b.x), std::round(b.y)));
    // Only the part on screen: a coarse backdrop tile can be far larger than the view, and the
    // raster engine's scaled drawing costs in proportion to the whole target, not what is seen.
    const QRectF shown = target.intersected(c.frameBounds);
    if (shown.isEmpty()) return;
    if (shown == target) {
        painter.drawImage(target, image);
        return;
    }
    const double kx = image.width() / target.width(), ky = image.height() / target.height();
    const QRectF source((shown.x() - target.x()) * kx, (shown.y() - target.y()) * ky,
                        shown.width() * kx, shown.height() * ky);
    painter.drawImage(shown, image, source);
}

void ImageLayer::paint(QPainter& painter, const LayerContext& c) {
    const ImageInfo& info = document_->info();
    const std::uint64_t id = document_->source()->id();
    const int slice = document_->slice();
    const TilePlan p = plan(c.view);
    lastLevel_ = p.level;
    prefetch_ = p.prefetch;

    std::vector<std::pair<TileKey, TilePtr>> present;
    missing_.clear();
    for (const TileKey& key : p.visible) {
        if (TilePtr t = find(key))
            present.emplace_back(key, std::move(t));
        else
            missing_.push_back(key);
    }
    wanted_ = missing_;
    if (!missing_.empty()) {
        // Backdrop: coarser levels, coarsest first, so the finest available shows on top.
        // Drawn unfiltered: it shows only until the finer tiles arrive, and filtering a whole
        // screen of upscaled pixels costs ~20 ms a paint (1080p), time taken from the decoding
        // threads.
        const RectF& v = c.visible;
        const int coarsest = static_cast<int>(info.levels.size()) - 1;
        painter.setRenderHint(QPainter::SmoothPixmapTransform, false);
        for (int level = coarsest; level > p.level; --level) {
            const double ds = info.level(level).downsample;
            for (const TileKey& key :
                 tilesInRect(info, id, slice, level,
                             {v.x / ds, v.y / ds, v.width / ds, v.height / ds}, kTileSize)) {
                if (TilePtr t = find(key))
                    drawTile(painter, c, key, *displayImage(key, t));
                else if (level == coarsest)
                    wanted_.push_back(key);
            }
        }
    }
    painter.setRenderHint(QPainter::SmoothPixmapTransform, true);
    for (const auto& [key, tile] : present) drawTile(painter, c, key, *displayImage(key, tile));
}

}  // namespace lucida::ui
