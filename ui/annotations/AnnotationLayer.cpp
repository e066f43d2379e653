#include "AnnotationLayer.h"

#include "AnnotationDocument.h"
#include "ImageDocument.h"

#include <QPainter>
#include <QPainterPath>

#include <algorithm>
#include <cmath>
#include <compare>
#include <cstdint>
#include <map>
#include <unordered_map>

namespace lucida::ui {

namespace {

constexpr int kFillAlpha = 48;
constexpr double kPointRadius = 4.0;  // screen pixels
// Objects in a tile (~3,000 on a full-HD screen); more: no antialiasing, no fill.
constexpr std::size_t kAntialiasBelow = 400;
// How far (screen pixels) a drawn object can reach past its bounds: a point's dot, an arrow head,
// a selected outline; and a text callout's label.
constexpr double kReachPixels = 16.0;
constexpr double kLabelReachPixels = 420.0;
constexpr int kPhaseSteps = 16;  // the tile grid's sub-pixel offset, in 1/16 pixels

QColor colourOf(Rgb rgb, int alpha = 255) {
    return QColor(int(rgb >> 16) & 0xFF, int(rgb >> 8) & 0xFF, int(rgb) & 0xFF, alpha);
}

// Level-0 pixels to frame coordinates, without a QTransform per point.
struct Mapper {
    double scale, ox, oy;
    explicit Mapper(const LayerContext& c) : scale(c.frame.scale) {
        const PointF o = c.frame.toScreen({0, 0});
        ox = o.x;
        oy = o.y;
    }
    Mapper(double s, QPointF origin) : scale(s), ox(origin.x()), oy(origin.y()) {}
    QPointF operator()(const Point2& p) const { return {p.x * scale + ox, p.y * scale + oy}; }
    QPolygonF polygon(const std::vector<Point2>& points) const {
        QPolygonF out;
        out.reserve(qsizetype(points.size()));
        for (const Point2& p : points) out << (*this)(p);
        return out;
    }
};

void drawArrowHead(QPainter& painter, QPointF from, QPointF to) {
    const double angle = std::atan2(to.y() - from.y(), to.x() - from.x());
    const double size = 12.0;
    const QPointF a = to - QPointF(std::cos(angle - 0.45), std::sin(angle - 0.45)) * size;
    const QPointF b = to - QPointF(std::cos(angle + 0.45), std::sin(angle + 0.45)) * size;
    painter.drawPolygon(QPolygonF({to, a, b}));
}

void drawLabel(QPainter& painter, QPointF at, const QString& text) {
    const QFontMetrics fm(painter.font());
    QRectF box = fm.boundingRect(QRect(0, 0, 400, 200), Qt::TextWordWrap, text);
    box.moveTopLeft(at + QPointF(10, 10));
    box.adjust(-4, -2, 4, 2);
    painter.setPen(Qt::NoPen);
    painter.setBrush(QColor(0, 0, 0, 170));
    painter.drawRoundedRect(box, 3, 3);
    painter.setPen(Qt::white);
    painter.drawText(box.adjusted(4, 2, -4, -2), Qt::TextWordWrap, text);
}

void drawGeometry(QPainter& painter, const Mapper& map, const Geometry& g, const QColor& colour,
                  bool arrow, bool filled = true) {
    if (!g.isArea()) painter.setBrush(Qt::NoBrush);
    switch (g.type) {
        case Geometry::Type::Point:
        case Geometry::Type::MultiPoint:
            painter.setBrush(colour);
            for (const Point2& p : g.points)
                painter.drawEllipse(map(p), kPointRadius, kPointRadius);
            break;
        case Geometry::Type::LineString: {
            const QPolygonF line = map.polygon(g.points);
            painter.drawPolyline(line);
            if (arrow && line.size() >= 2) {
                painter.setBrush(colour);
                drawArrowHead(painter, line[line.size() - 2], line.back());
            }
            break;
        }
        case Geometry::Type::Polygon:
        case Geometry::Type::MultiPolygon: {
            QColor fill = colour;
            fill.setAlpha(kFillAlpha);
            if (!filled)
                painter.setBrush(Qt::NoBrush);
            else if (painter.brush().style() != Qt::SolidPattern || painter.brush().color() != fill)
                painter.setBrush(fill);
            if (g.polygons.size() == 1 && g.polygons[0].holes.empty()) {  // most: no path
                painter.drawPolygon(map.polygon(g.polygons[0].outer));
                break;
            }
            QPainterPath path;
            path.setFillRule(Qt::OddEvenFill);
            for (const PolygonRings& p : g.polygons) {
                path.addPolygon(map.polygon(p.outer));
                path.closeSubpath();
                for (const Ring& hole : p.holes) {
                    path.addPolygon(map.polygon(hole));
                    path.closeSubpath();
                }
            }
            painter.drawPath(path);
            break;
        }
    }
}

bool intersects(const Bounds& a, const Bounds& b) {
    return a.x0 <= b.x1 && b.x0 <= a.x1 && a.y0 <= b.y1 && b.y0 <= a.y1;
}

}  // namespace

// The rendered tiles, per scale key; least recently used out first, tiles and scales alike.
struct AnnotationLayer::Tiles {
    struct Key {
        double scale;
        double pixelRatio;
        int phaseX, phaseY;  // the frame's sub-pixel offset, in 1/kPhaseSteps pixels
        int slice;
        auto operator<=>(const Key&) const = default;
    };
    struct Tile {
        QImage image;   // null where nothing is drawn (most of a slide): no memory, no blending
        Bounds bounds;  // the level-0 area it can show, reach included
        int objects = 0;
        bool rendered = false;
        std::uint64_t used = 0;
    };
    struct Scale {
        std::map<std::pair<int, int>, Tile> tiles;  // by row, column
        std::uint64_t used = 0;
    };
    std::map<Key, Scale> scales;
    std::uint64_t clock = 0;

    // The scale a paint draws at; the others kept are trimmed to the budget of one (what an
    // export left).
    Scale& use(const Key& key) {
        Scale& scale = scales[key];
        scale.used = ++clock;
        for (auto& [k, other] : scales)
            if (&other != &scale) trim(other, kBytesPerScale);
        while (int(scales.size()) > kScalesKept)
            scales.erase(std::min_element(scales.begin(), scales.end(), [](auto& a, auto& b) {
                return a.second.used < b.second.used;
            }));
        return scale;
    }
    // Drops the least recently used tiles over `budget`, never one this paint shows.
    void trim(Scale& scale, std::size_t budget) const {
        std::size_t bytes = 0;
        for (const auto& [at, tile] : scale.tiles) bytes += std::size_t(tile.image.sizeInBytes());
        while (bytes > budget) {
            const auto oldest =
                std::min_element(scale.tiles.begin(), scale.tiles.end(),
                                 [](auto& a, auto& b) { return a.second.used < b.second.used; });
            if (oldest->second.used == clock) return;
            bytes -= std::size_t(oldest->second.image.sizeInBytes());
            scale.tiles.erase(oldest);
        }
    }
    void invalidate(const Bounds& area) {
        for (auto& [key, scale] : scales)
            std::erase_if(scale.tiles, [&](auto& t) { return intersects(t.second.bounds, area); });
    }
};

AnnotationLayer::AnnotationLayer(AnnotationDocument* annotations, ImageDocument* image)
    : annotations_(annotations), image_(image), tiles_(std::make_unique<Tiles>()) {
    QObject::connect(annotations_, &AnnotationDocument::changed, &receiver_, [this] {
        clearCache();
        liveDirty_ = true;
    });
    QObject::connect(annotations_, &AnnotationDocument::selectionChanged, &receiver_,
                     [this] { onSelectionChanged(); });
    // A class shown or hidden: every tile may change.
    QObject::connect(annotations_, &AnnotationDocument::classesChanged, &receiver_,
                     [this] { clearCache(); });
}

AnnotationLayer::~AnnotationLayer() = default;

void AnnotationLayer::clearCache() { tiles_->scales.clear(); }

int AnnotationLayer::cachedTiles() const {
    int n = 0;
    for (const auto& [key, scale] : tiles_->scales) n += int(scale.tiles.size());
    return n;
}

bool AnnotationLayer::isLive(std::size_t index) const {
    const Annotation& a = annotations_->items()[index];
    return a.tool == "text" ||
           (!annotations_->selection().empty() && annotations_->isSelected(a.id));
}

void AnnotationLayer::updateLive() {
    live_.clear();
    liveBounds_.clear();
    const auto& items = annotations_->items();
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (!isLive(i)) continue;
        live_.push_back(i);
        liveBounds_.push_back(boundsOf(items[i].geometry));
    }
    liveDirty_ = false;
}

void AnnotationLayer::onSelectionChanged() {
    // The tiles under what was and what is now selected are drawn anew without (with) it.
    for (const Bounds& b : liveBounds_) tiles_->invalidate(b);
    updateLive();
    for (const Bounds& b : liveBounds_) tiles_->invalidate(b);
}

void AnnotationLayer::setPreview(const Geometry& geometry, const QString& text, Rgb colour,
                                 bool arrow) {
    preview_ = Preview{geometry, text, colour, arrow};
}

void AnnotationLayer::clearPreview() {
    preview_.reset();
    previewOthers_.clear();
}

void AnnotationLayer::paint(QPainter& painter, const LayerContext& context) {
    if (liveDirty_) updateLive();
    const double scale = context.frame.scale;
    const PointF origin = context.frame.toScreen({0, 0});
    // The tile grid is anchored at level-0 (0, 0) at this scale, on whole frame pixels, its
    // sub-pixel phase (to 1/16 pixel) in the key: panning by whole pixels keeps the tiles, and
    // they land within 1/32 pixel of where a direct drawing would.
    double baseX = std::floor(origin.x), baseY = std::floor(origin.y);
    int phaseX = int(std::lround((origin.x - baseX) * kPhaseSteps));
    int phaseY = int(std::lround((origin.y - baseY) * kPhaseSteps));
    if (phaseX == kPhaseSteps) baseX += 1, phaseX = 0;
    if (phaseY == kPhaseSteps) baseY += 1, phaseY = 0;
    const double pixelRatio = painter.device() ? painter.device()->devicePixelRatioF() : 1.0;
    const int slice = image_ && image_->info().sliceCount > 1 ? image_->slice() : 0;
    Tiles::Scale& cache = tiles_->use({scale, pixelRatio, phaseX, phaseY, slice});

    constexpr int T = kTileSize;
    const QRectF& f = context.frameBounds;
    const int c0 = int(std::floor((f.left() - baseX) / T));
    const int c1 = int(std::ceil((f.right() - baseX) / T)) - 1;
    const int r0 = int(std::floor((f.top() - baseY) / T));
    const int r1 = int(std::ceil((f.bottom() - baseY) / T)) - 1;
    const int side = int(std::lround(T * pixelRatio));
    const double reach = kReachPixels / scale;
    const std::size_t shownBytes =
        std::size_t(std::max(0, (r1 - r0 + 1) * (c1 - c0 + 1))) * side * side * 4;
    // A paint larger than two budgets (a large export) keeps none of the tiles it renders.
    const bool keep = shownBytes <= 2 * kBytesPerScale;
    lastPainted_ = 0;
    for (int r = r0; r <= r1; ++r) {
        for (int c = c0; c <= c1; ++c) {
            Tiles::Tile& tile = cache.tiles[{r, c}];
            const bool fresh = !tile.rendered;
            if (fresh) {
                // Level-0 p lands on tile pixel p * scale + o.
                const QPointF o(double(phaseX) / kPhaseSteps - c * T,
                                double(phaseY) / kPhaseSteps - r * T);
                tile.bounds = {-o.x() / scale - reach, -o.y() / scale - reach,
                               (T - o.x()) / scale + reach, (T - o.y()) / scale + reach};
                tile.rendered = true;
                const std::vector<std::size_t> hits = annotations_->query(tile.bounds);
                if (!hits.empty()) {
                    tile.image = QImage(side, side, QImage::Format_ARGB32_Premultiplied);
                    tile.image.setDevicePixelRatio(pixelRatio);
                    tile.image.fill(Qt::transparent);
                    QPainter tilePainter(&tile.image);
                    tile.objects = drawObjects(tilePainter, scale, o, hits, Pass::Cached);
                }
                if (tile.objects == 0) tile.image = QImage();
            }
            tile.used = tiles_->clock;
            if (!tile.image.isNull())
                painter.drawImage(QPointF(baseX + c * T, baseY + r * T), tile.image);
            lastPainted_ += tile.objects;
            if (fresh && !keep) cache.tiles.erase({r, c});
        }
    }
    tiles_->trim(cache, std::max(kBytesPerScale, shownBytes * 3 / 2));

    // Live: the selection with its handles and the text callouts, those that reach the view.
    const RectF& v = context.visible;
    const double labelReach = kLabelReachPixels / scale;
    const Bounds view{v.x - labelReach, v.y - labelReach, v.x + v.width + labelReach,
                      v.y + v.height + labelReach};
    std::vector<std::size_t> live;
    for (std::size_t k = 0; k < live_.size(); ++k)
        if (intersects(liveBounds_[k], view)) live.push_back(live_[k]);
    lastPainted_ += drawObjects(painter, scale, QPointF(origin.x, origin.y), live, Pass::Live);
    paintPreview(painter, context);
}

int AnnotationLayer::drawObjects(QPainter& painter, double scale, QPointF origin,
                                 const std::vector<std::size_t>& hits, Pass pass) const {
    const auto& items = annotations_->items();
    const int slice = image_ ? image_->slice() : 0;
    const bool series = image_ && image_->info().sliceCount > 1;

    const Mapper map(scale, origin);
    // Live objects are few: drawn smooth, as the view's other shapes.
    const bool smooth = pass == Pass::Live || hits.size() < kAntialiasBelow;
    painter.setRenderHint(QPainter::Antialiasing, smooth);
    // With thousands on screen (detections): one-pixel outlines without antialiasing, which take
    // the rasteriser's fast path, and no fill (8,000 translucent fills alone take ~30 ms).
    const double width = smooth ? 1.5 : 1.0;
    // Small objects in batches, one call per colour: dots below kDotBelowPixels, boxes below
    // kBoxBelowPixels (a cell a few pixels across shows no more than its box).
    std::unordered_map<Rgb, QPolygonF> dots;
    std::unordered_map<Rgb, std::vector<QRectF>> boxes;
    const bool anySelected = !annotations_->selection().empty();
    const bool someHidden = annotations_->anyClassHidden();
    const std::string* lastClass = nullptr;  // detections come in runs of one class
    Rgb lastRgb = 0;
    constexpr Rgb kNoPen = 0xFF000000;  // no 0xRRGGBB colour
    Rgb penRgb = kNoPen;
    bool penSelected = false;
    int painted = 0;
    for (std::size_t i : hits) {
        const Annotation& a = items[i];
        if (series && a.slice >= 0 && a.slice != slice) continue;
        if (someHidden && annotations_->isClassHidden(a.className)) continue;
        if (pass == Pass::Cached && (a.tool == "text" || (anySelected && isLive(i)))) continue;
        ++painted;
        if (a.colour || !lastClass || *lastClass != a.className) {
            lastRgb = annotations_->colourOf(a);
            lastClass = a.colour ? nullptr : &a.className;
        }
        const Rgb rgb = lastRgb;
        const bool selected = anySelected && annotations_->isSelected(a.id);
        const Bounds b = boundsOf(a.geometry);
        const double extent = std::max(b.x1 - b.x0, b.y1 - b.y0) * map.scale;
        if (!selected && a.geometry.type != Geometry::Type::Point && extent < kBoxBelowPixels) {
            if (extent < kDotBelowPixels)
                dots[rgb] << map({(b.x0 + b.x1) / 2, (b.y0 + b.y1) / 2});
            else
                boxes[rgb].push_back(QRectF(map({b.x0, b.y0}), map({b.x1, b.y1})));
            continue;
        }
        const QColor colour = colourOf(rgb);
        if (penRgb != rgb || selected || penSelected) {  // a new pen only on changes
            QPen pen(selected ? QColor(255, 255, 0) : colour, selected ? 3.0 : width);
            pen.setCosmetic(true);
            painter.setPen(pen);
            penRgb = rgb;
            penSelected = selected;
        }
        drawGeometry(painter, map, a.geometry, colour, a.tool == "arrow", smooth || selected);
        if (selected && a.geometry.type != Geometry::Type::Point) {  // vertex handles
            painter.setBrush(Qt::white);
            painter.setPen(QPen(Qt::black, 1));
            auto handles = [&](const std::vector<Point2>& pts) {
                if (pts.size() > 200) return;  // a brush outline: no handles, too dense
                for (const Point2& p : pts)
                    painter.drawRect(QRectF(map(p) - QPointF(3, 3), QSizeF(6, 6)));
            };
            handles(a.geometry.points);
            for (const PolygonRings& p : a.geometry.polygons) handles(p.outer);
            penRgb = kNoPen;
        }
        if (a.tool == "text" && !a.text.empty() && !a.geometry.points.empty()) {
            drawLabel(painter, map(a.geometry.points.front()), QString::fromStdString(a.text));
            penRgb = kNoPen;
        }
    }
    for (auto& [rgb, rects] : boxes) {
        // Filled in the outline's colour: at this size a fill is all there is to see.
        painter.setPen(Qt::NoPen);
        painter.setBrush(colourOf(rgb));
        painter.drawRects(rects.data(), int(rects.size()));
    }
    for (auto& [rgb, points] : dots) {
        QPen pen(colourOf(rgb), 2.0);
        pen.setCosmetic(true);
        painter.setPen(pen);
        painter.drawPoints(points);
    }
    return painted;
}

void AnnotationLayer::paintPreview(QPainter& painter, const LayerContext& context) const {
    if (!preview_) return;
    const Mapper map(context);
    painter.setRenderHint(QPainter::Antialiasing, true);
    const QColor colour = colourOf(preview_->colour);
    QPen pen(colour, 2.0, Qt::DashLine);
    pen.setCosmetic(true);
    painter.setPen(pen);
    drawGeometry(painter, map, preview_->geometry, colour, preview_->arrow);
    for (const Geometry& other : previewOthers_) drawGeometry(painter, map, other, colour, false);
    const Geometry& g = preview_->geometry;
    const Point2* last = !g.points.empty() ? &g.points.back()
                         : !g.polygons.empty() && !g.polygons[0].outer.empty()
                             ? &g.polygons[0].outer.back()
                             : nullptr;
    if (last && !preview_->text.isEmpty()) drawLabel(painter, map(*last), preview_->text);
}

}  // namespace lucida::ui
