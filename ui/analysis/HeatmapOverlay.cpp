#include "HeatmapOverlay.h"

#include <QMetaObject>
#include <QPainter>
#include <QPainterPath>
#include <QTransform>

#include <algorithm>
#include <cmath>
#include <limits>

namespace lucida::ui {

namespace {
// An overlay without the views' cache (tests, previews) keeps its tiles in one this size.
constexpr std::size_t kOwnCacheBytes = std::size_t{64} << 20;
}  // namespace

QImage colouriseRaster(const FloatRaster& r, ColourMap colours, double threshold) {
    if (r.width <= 0 || r.height <= 0) return {};
    // The core's colours (the same as lucida-cli's heatmaps), cells below the threshold as holes.
    FloatTensor map({r.height, r.width});
    const auto low = static_cast<float>(threshold);
    std::transform(r.values.begin(), r.values.end(), map.data.begin(), [low](float v) {
        return v < low ? std::numeric_limits<float>::quiet_NaN() : v;
    });
    const PixelBuffer rgba = colouriseMap(map, colours);
    QImage image(r.width, r.height, QImage::Format_ARGB32_Premultiplied);
    for (int y = 0; y < r.height; ++y) {
        auto* line = reinterpret_cast<QRgb*>(image.scanLine(y));
        for (int x = 0; x < r.width; ++x) {
            const std::uint8_t* p = rgba.rgbaAt(x, y);
            line[x] = p[3] ? qRgba(p[0], p[1], p[2], 255) : 0;  // opaque or empty: premultiplied
        }
    }
    return image;
}

HeatmapOverlay::HeatmapOverlay(QObject* parent)
    : QObject(parent), ownCache_(std::make_unique<TileCache>(kOwnCacheBytes)) {
    for (auto& tiles : tiles_) tiles = std::make_unique<HeatTiles>([this] { tilesArrived(); });
    heat_.setOpacity(0.5);
    outline_.setVisible(false);
}

HeatmapOverlay::~HeatmapOverlay() {
    // The workers first (they report to this object), then the tiles: in a shared cache they
    // would only take the budget.
    for (const auto& tiles : tiles_) tiles->stop();
    for (const auto& tiles : tiles_) cache().removeSource(tiles->sourceId());
}

void HeatmapOverlay::tilesArrived() {
    if (arrivalPending_.exchange(true)) return;  // one repaint for a burst of tiles
    QMetaObject::invokeMethod(
        this,
        [this] {
            arrivalPending_ = false;
            emit changed();
        },
        Qt::QueuedConnection);
}

void HeatmapOverlay::setTileCache(TileCache* cache) {
    for (const auto& tiles : tiles_) this->cache().removeSource(tiles->sourceId());
    cache_ = cache;
    ownCache_.reset();
    if (!cache_) ownCache_ = std::make_unique<TileCache>(kOwnCacheBytes);
    invalidate();
}

void HeatmapOverlay::setRasters(std::shared_ptr<const FloatRaster> cam,
                                std::shared_ptr<const FloatRaster> probability,
                                ColouredRaster camImage, ColouredRaster probabilityImage,
                                std::shared_ptr<const FloatRaster> camSmooth) {
    cam_ = std::move(cam);
    probability_ = std::move(probability);
    camSmooth_ = cam_ ? std::move(camSmooth) : nullptr;
    images_[0] = images_[1] = QImage();
    auto adopt = [this](Layer layer, ColouredRaster& coloured) {
        const auto r = raster(layer);
        std::vector<std::shared_ptr<const FloatRaster>> reduced;
        if (r) {
            const bool sameColours =
                coloured.colours == colours_ && coloured.threshold == threshold_;
            if (!coloured.image.isNull() && sameColours &&
                coloured.image.size() == QSize(r->width, r->height))
                images_[index(layer)] = std::move(coloured.image);
            const bool smooth = layer == Layer::Cam && camSmooth_;  // its own halved copies
            if (!smooth && !coloured.reduced.empty() &&
                coloured.reduced.front()->width == (r->width + 1) / 2)
                reduced = std::move(coloured.reduced);
        }
        publish(layer, std::move(reduced));
    };
    adopt(Layer::Cam, camImage);
    adopt(Layer::Probability, probabilityImage);
    emit changed();
}

void HeatmapOverlay::publish(Layer layer, std::vector<std::shared_ptr<const FloatRaster>> reduced) {
    const auto drawn = layer == Layer::Cam && camSmooth_ ? camSmooth_ : raster(layer);
    tiles_[index(layer)]->setContent(drawn, std::move(reduced), colours_, threshold_, cache());
}

void HeatmapOverlay::clear() { setRasters(nullptr, nullptr); }

std::shared_ptr<const FloatRaster> HeatmapOverlay::raster(Layer layer) const {
    return layer == Layer::Cam ? cam_ : probability_;
}

bool HeatmapOverlay::isEmpty() const {
    const auto r = shownRaster();
    return !r || r->width <= 0 || r->height <= 0;
}

void HeatmapOverlay::setImageSize(QSizeF size) {
    imageSize_ = size;
    emit changed();
}

void HeatmapOverlay::setLayer(Layer layer) {
    if (layer == layer_) return;
    layer_ = layer;
    emit changed();
}

void HeatmapOverlay::setColourMap(ColourMap colours) {
    if (colours == colours_) return;
    colours_ = colours;
    invalidate();
}

void HeatmapOverlay::setOpacity(double opacity) {
    opacity = std::clamp(opacity, 0.0, 1.0);
    if (opacity == heat_.opacity()) return;
    heat_.setOpacity(opacity);
    emit changed();
}

void HeatmapOverlay::setThreshold(double threshold) {
    threshold = std::clamp(threshold, 0.0, 1.0);
    if (threshold == threshold_) return;
    threshold_ = threshold;
    invalidate();
}

void HeatmapOverlay::setHeatmapVisible(bool visible) {
    if (visible == heat_.isVisible()) return;
    heat_.setVisible(visible);
    emit changed();
}

void HeatmapOverlay::setOutlines(std::vector<QPolygonF> outlines) {
    outline_.setOutlines(std::move(outlines));
    emit changed();
}

void HeatmapOverlay::setOutlineVisible(bool visible) {
    if (visible == outline_.isVisible()) return;
    outline_.setVisible(visible);
    emit changed();
}

void HeatmapOverlay::invalidate() {
    images_[0] = images_[1] = QImage();
    // New colours or threshold: the same values (and halved copies), coloured anew.
    for (const Layer layer : {Layer::Cam, Layer::Probability})
        publish(layer, tiles_[index(layer)]->reduced());
    emit changed();
}

const QImage& HeatmapOverlay::image() {
    QImage& image = images_[index(layer_)];
    if (image.isNull())
        if (const auto r = shownRaster()) image = colouriseRaster(*r, colours_, threshold_);
    return image;
}

ColouredRaster colouriseWithReductions(const FloatRaster& raster, ColourMap colours,
                                       double threshold) {
    ColouredRaster c{colouriseRaster(raster, colours, threshold), colours, threshold, {}, {}};
    const FloatRaster* from = &raster;
    while (from->width >= 2 && from->height >= 2) {
        c.reduced.push_back(std::make_shared<const FloatRaster>(halveRaster(*from)));
        from = c.reduced.back().get();
        c.reducedImages.push_back(colouriseRaster(*from, colours, threshold));
    }
    return c;
}

QRectF HeatmapOverlay::heatArea(const LayerContext& c) const {
    QRectF area(c.visible.x, c.visible.y, c.visible.width, c.visible.height);
    if (!imageSize_.isEmpty()) area = area.intersected(QRectF(QPointF(0, 0), imageSize_));
    return area;
}

std::vector<TileKey> HeatmapOverlay::tilesOver(const HeatTiles& tiles, int level,
                                               const QRectF& area) const {
    const double span = HeatTiles::tileSpan(level);
    const auto first = [span](double v) { return static_cast<std::int64_t>(std::floor(v / span)); };
    const auto last = [span](double v) { return static_cast<std::int64_t>(std::ceil(v / span)); };
    std::vector<TileKey> keys;
    for (std::int64_t row = first(area.top()); row < last(area.bottom()); ++row)
        for (std::int64_t col = first(area.left()); col < last(area.right()); ++col)
            keys.push_back(tiles.key(level, col, row));
    return keys;
}

// Where tiles of `level` are missing, the cached tiles of coarser levels, coarsest first: the
// heat shows at once, coarser, while the worker makes the finer ones.
void HeatmapOverlay::drawBackdrop(QPainter& painter, HeatTiles& tiles, int level,
                                  const QRectF& area, const std::vector<TileKey>& holes) {
    QPainterPath clip;
    const double span = HeatTiles::tileSpan(level);
    for (const TileKey& key : holes)
        clip.addRect(QRectF(key.col * span, key.row * span, span, span));
    painter.save();
    painter.setClipPath(clip, Qt::IntersectClip);
    const double extent = std::max(imageSize_.width(), imageSize_.height());
    const int coarsest = std::min(HeatTiles::coarsestLevel(extent), level + 8);
    for (int l = coarsest; l > level; --l) {
        const double s = HeatTiles::tileSpan(l);
        for (const TileKey& key : tilesOver(tiles, l, area))
            if (const TilePtr tile = tiles.cached(key).tile) {
                const QImage image(tile->bytes.data(), tile->width, tile->height,
                                   static_cast<qsizetype>(tile->stride()), QImage::Format_RGBA8888);
                painter.drawImage(QRectF(key.col * s, key.row * s, s, s), image);
            }
    }
    painter.restore();
}

void HeatmapOverlay::prepareHeat(const LayerContext& c) {
    held_.clear();
    const QRectF area = heatArea(c);
    if (isEmpty() || area.isEmpty()) return;
    HeatTiles& tiles = *tiles_[index(layer_)];
    std::vector<std::pair<TileKey, std::shared_future<TilePtr>>> pending;
    for (const TileKey& key : tilesOver(tiles, HeatTiles::levelFor(c.frame.scale), area))
        pending.emplace_back(key, tiles.fetch(key));
    for (auto& [key, future] : pending) {
        try {
            if (TilePtr tile = future.get()) held_.emplace(key, std::move(tile));
        } catch (const std::exception&) {
            // The worker stopped (the overlay is going): drawn as a missing tile.
        }
    }
}

void HeatmapOverlay::paintHeat(QPainter& painter, const LayerContext& c) {
    heatComplete_ = true;
    const QRectF area = heatArea(c);
    if (isEmpty() || area.isEmpty()) {
        held_.clear();
        return;
    }
    painter.setTransform(c.imageToFrame(), true);
    if (!imageSize_.isEmpty())
        painter.setClipRect(QRectF(QPointF(0, 0), imageSize_), Qt::IntersectClip);
    // The level whose heat pixels are just no larger than a screen pixel: a smooth transform
    // shrinks them by less than two, and each pixel already averages the cells it covers.
    HeatTiles& tiles = *tiles_[index(layer_)];
    const int level = HeatTiles::levelFor(c.frame.scale);
    const double span = HeatTiles::tileSpan(level);
    std::vector<std::pair<TileKey, TilePtr>> present;
    std::vector<TileKey> wanted, holes;
    for (const TileKey& key : tilesOver(tiles, level, area)) {
        TilePtr tile;
        if (const auto it = held_.find(key); it != held_.end()) tile = it->second;
        if (!tile) {
            HeatTiles::Cached cached = tiles.cached(key);
            if (!cached.current) wanted.push_back(key);
            tile = std::move(cached.tile);
        }
        if (tile)
            present.emplace_back(key, std::move(tile));
        else
            holes.push_back(key);
    }
    painter.setRenderHint(QPainter::SmoothPixmapTransform, true);
    if (!holes.empty()) drawBackdrop(painter, tiles, level, area, holes);
    for (const auto& [key, tile] : present) {
        const QImage image(tile->bytes.data(), tile->width, tile->height,
                           static_cast<qsizetype>(tile->stride()), QImage::Format_RGBA8888);
        painter.drawImage(QRectF(key.col * span, key.row * span, span, span), image);
    }
    if (held_.empty()) tiles.request(wanted);  // a view's paint; off-screen waited already
    heatComplete_ = wanted.empty();
    held_.clear();
    ++heatmapPaints_;
}

}  // namespace lucida::ui
