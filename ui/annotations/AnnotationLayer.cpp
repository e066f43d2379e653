#include "AnnotationLayer.h"

#include "AnnotationDocument.h"
#include "ImageDocument.h"

#include <QPainter>
#include <QPainterPath>

#include <cmath>
#include <unordered_map>

namespace lucida::ui {

namespace {

constexpr int kFillAlpha = 48;
constexpr double kPointRadius = 4.0;   // screen pixels
constexpr int kAntialiasBelow = 3000;  // objects on screen; more: no antialiasing, no fill

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

}  // namespace

AnnotationLayer::AnnotationLayer(AnnotationDocument* annotations, ImageDocument* image)
    : annotations_(annotations), image_(image) {}

void AnnotationLayer::setPreview(const Geometry& geometry, const QString& text, Rgb colour,
                                 bool arrow) {
    preview_ = Preview{geometry, text, colour, arrow};
}

void AnnotationLayer::clearPreview() { preview_.reset(); }

void AnnotationLayer::paint(QPainter& painter, const LayerContext& context) {
    const Mapper map(context);
    const RectF& v = context.visible;
    const std::vector<std::size_t> hits =
        annotations_->query({v.x, v.y, v.x + v.width, v.y + v.height});
    const auto& items = annotations_->items();
    const int slice = image_ ? image_->slice() : 0;
    const bool series = image_ && image_->info().sliceCount > 1;

    const bool smooth = hits.size() < std::size_t(kAntialiasBelow);
    painter.setRenderHint(QPainter::Antialiasing, smooth);
    // With thousands on screen (detections): one-pixel outlines without antialiasing, which take
    // the rasteriser's fast path, and no fill (8,000 translucent fills alone take ~30 ms).
    const double width = smooth ? 1.5 : 1.0;
    // Small objects in batches, one call per colour: dots below kDotBelowPixels, boxes below
    // kBoxBelowPixels (a cell a few pixels across shows no more than its box).
    std::unordered_map<Rgb, QPolygonF> dots;
    std::unordered_map<Rgb, std::vector<QRectF>> boxes;
    const bool anySelected = !annotations_->selection().empty();
    const std::string* lastClass = nullptr;  // detections come in runs of one class
    Rgb lastRgb = 0;
    constexpr Rgb kNoPen = 0xFF000000;  // no 0xRRGGBB colour
    Rgb penRgb = kNoPen;
    bool penSelected = false;
    lastPainted_ = 0;
    for (std::size_t i : hits) {
        const Annotation& a = items[i];
        if (series && a.slice >= 0 && a.slice != slice) continue;
        ++lastPainted_;
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
    paintPreview(painter, context);
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
    const Geometry& g = preview_->geometry;
    const Point2* last = !g.points.empty() ? &g.points.back()
                         : !g.polygons.empty() && !g.polygons[0].outer.empty()
                             ? &g.polygons[0].outer.back()
                             : nullptr;
    if (last && !preview_->text.isEmpty()) drawLabel(painter, map(*last), preview_->text);
}

}  // namespace lucida::ui
