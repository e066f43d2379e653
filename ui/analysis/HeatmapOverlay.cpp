#include "HeatmapOverlay.h"

#include <QPainter>
#include <QTransform>

#include <algorithm>
#include <cmath>
#include <limits>

namespace lucida::ui {

namespace {
// Cells drawn beyond the visible ones on each side: bilinear filtering clamps at the edge of the
// part drawn, which must lie off screen.
constexpr int kMarginCells = 2;
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

HeatmapOverlay::HeatmapOverlay(QObject* parent) : QObject(parent) {
    heat_.setOpacity(0.5);
    outline_.setVisible(false);
}

void HeatmapOverlay::setRasters(std::shared_ptr<const FloatRaster> cam,
                                std::shared_ptr<const FloatRaster> probability,
                                ColouredRaster camImage, ColouredRaster probabilityImage) {
    cam_ = std::move(cam);
    probability_ = std::move(probability);
    invalidate();
    auto adopt = [this](Layer layer, ColouredRaster& coloured) {
        const auto r = raster(layer);
        const int i = index(layer);
        reducedRasters_[i].clear();
        if (!r) return;
        const bool sameColours = coloured.colours == colours_ && coloured.threshold == threshold_;
        if (!coloured.image.isNull() && sameColours &&
            coloured.image.size() == QSize(r->width, r->height))
            images_[i] = std::move(coloured.image);
        if (!coloured.reduced.empty() && coloured.reduced.front()->width == (r->width + 1) / 2) {
            reducedRasters_[i] = std::move(coloured.reduced);
            if (sameColours && coloured.reducedImages.size() == reducedRasters_[i].size())
                reducedImages_[i] = std::move(coloured.reducedImages);
        }
    };
    adopt(Layer::Cam, camImage);
    adopt(Layer::Probability, probabilityImage);
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
    reducedImages_[0].clear();
    reducedImages_[1].clear();
    emit changed();
}

const QImage& HeatmapOverlay::image() {
    QImage& image = images_[index(layer_)];
    if (image.isNull())
        if (const auto r = shownRaster()) image = colouriseRaster(*r, colours_, threshold_);
    return image;
}

const QImage& HeatmapOverlay::reduced(const QImage& full, int halvings) {
    if (halvings == 0) return full;
    const auto raster = shownRaster();
    if (!raster) return full;
    const int i = index(layer_);
    auto& rasters = reducedRasters_[i];
    auto& images = reducedImages_[i];
    while (static_cast<int>(rasters.size()) < halvings) {  // not made ahead: make them here
        const FloatRaster& from = rasters.empty() ? *raster : *rasters.back();
        if (from.width < 2 || from.height < 2) break;
        rasters.push_back(std::make_shared<const FloatRaster>(halveRaster(from)));
        ++reductionsMadeInPaint_;
    }
    const std::size_t k = std::min<std::size_t>(rasters.size(), halvings);
    if (k == 0) return full;
    if (images.size() < rasters.size()) images.resize(rasters.size());
    QImage& image = images[k - 1];
    if (image.isNull()) image = colouriseRaster(*rasters[k - 1], colours_, threshold_);
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
    const QImage& colours = image();
    const double cell = shownRaster()->cellSize;
    QRectF area(c.visible.x, c.visible.y, c.visible.width, c.visible.height);
    if (!imageSize_.isEmpty()) {
        painter.setClipRect(QRectF(QPointF(0, 0), imageSize_), Qt::IntersectClip);
        area = area.intersected(QRectF(QPointF(0, 0), imageSize_));
    }
    // Only the cells on screen (and a margin): scaled drawing costs by what it is given.
    const int x0 = std::max(0, int(std::floor(area.left() / cell)) - kMarginCells);
    const int y0 = std::max(0, int(std::floor(area.top() / cell)) - kMarginCells);
    const int x1 = std::min(colours.width(), int(std::ceil(area.right() / cell)) + kMarginCells);
    const int y1 = std::min(colours.height(), int(std::ceil(area.bottom() / cell)) + kMarginCells);
    if (colours.isNull() || x1 <= x0 || y1 <= y0) return;
    painter.setRenderHint(QPainter::SmoothPixmapTransform, true);
    // Screen pixels per raster cell; below one half, draw a reduced copy.
    const QTransform& t = painter.transform();
    const double pixelsPerCell = std::sqrt(std::abs(t.determinant())) * cell;
    int halvings = 0;
    while (pixelsPerCell * double(1 << (halvings + 1)) <= 1.0 && halvings < 12) ++halvings;
    const QImage& shown = reduced(colours, halvings);
    const double f = double(shown.width()) / colours.width();
    const double g = double(shown.height()) / colours.height();
    painter.drawImage(QRectF(x0 * cell, y0 * cell, (x1 - x0) * cell, (y1 - y0) * cell), shown,
                      QRectF(x0 * f, y0 * g, (x1 - x0) * f, (y1 - y0) * g));
    ++heatmapPaints_;
}

}  // namespace lucida::ui
