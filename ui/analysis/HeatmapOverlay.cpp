#include "HeatmapOverlay.h"

#include <QPainter>
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
    heat_.setOpacity(0.5);
    outline_.setVisible(false);
}

HeatmapOverlay::~HeatmapOverlay() {
    // Heat tiles in a shared cache go with the overlay: they would only take the budget.
    for (const HeatTiles& tiles : tiles_) cache().removeSource(tiles.sourceId());
}

void HeatmapOverlay::setTileCache(TileCache* cache) {
    for (const HeatTiles& tiles : tiles_) this->cache().removeSource(tiles.sourceId());
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
    tiles_[index(layer)].setContent(drawn, std::move(reduced), colours_, threshold_, cache());
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
        publish(layer, tiles_[index(layer)].reduced());
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

void HeatmapOverlay::paintHeat(QPainter& painter, const LayerContext& c) {
    if (isEmpty()) return;
    painter.setTransform(c.imageToFrame(), true);
    QRectF area(c.visible.x, c.visible.y, c.visible.width, c.visible.height);
    if (!imageSize_.isEmpty()) {
        painter.setClipRect(QRectF(QPointF(0, 0), imageSize_), Qt::IntersectClip);
        area = area.intersected(QRectF(QPointF(0, 0), imageSize_));
    }
    if (area.isEmpty()) return;
    // The level whose heat pixels are just no larger than a screen pixel: a smooth transform
    // shrinks them by less than two, and each pixel already averages the cells it covers.
    HeatTiles& tiles = tiles_[index(layer_)];
    const int level = HeatTiles::levelFor(c.frame.scale);
    const double span = HeatTiles::tileSpan(level);
    const auto first = [span](double v) { return static_cast<std::int64_t>(std::floor(v / span)); };
    const auto last = [span](double v) { return static_cast<std::int64_t>(std::ceil(v / span)); };
    painter.setRenderHint(QPainter::SmoothPixmapTransform, true);
    for (std::int64_t row = first(area.top()); row < last(area.bottom()); ++row)
        for (std::int64_t col = first(area.left()); col < last(area.right()); ++col) {
            const TilePtr tile = tiles.tile(cache(), tiles.key(level, col, row));
            if (!tile) return;
            const QImage image(tile->bytes.data(), tile->width, tile->height,
                               static_cast<qsizetype>(tile->stride()), QImage::Format_RGBA8888);
            painter.drawImage(QRectF(col * span, row * span, span, span), image);
        }
    ++heatmapPaints_;
}

}  // namespace lucida::ui
