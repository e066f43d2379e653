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
constexpr int kAntialiasBelow = 3000;  // objects on screen; more are drawn without antialiasing

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
                  bool arrow) {
    painter.setBrush(Qt::NoBrush);
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
            QColor fill = colour;
            fill.setAlpha(kFillAlpha);
            painter.setBrush(fill);
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

    painter.setRenderHint(QPainter::Antialiasing, hits.size() < std::size_t(kAntialiasBelow));
    std::unordered_map<Rgb, QPolygonF> dots;  // tiny objects, one drawPoints per colour
    lastPainted_ = 0;
    for (std::size_t i : hits) {
        const Annotation& a = items[i];
        if (series && a.slice >= 0 && a.slice != slice) continue;
        ++lastPainted_;
        const Bounds b = boundsOf(a.geometry);
        const double extent = std::max(b.x1 - b.x0, b.y1 - b.y0) * map.scale;
        const Rgb rgb = annotations_->colourOf(a);
        const bool selected = annotations_->isSelected(a.id);
        if (extent < kDotBelowPixels && !selected && a.geometry.type != Geometry::Type::Point) {
            dots[rgb] << map({(b.x0 + b.x1) / 2, (b.y0 + b.y1) / 2});
            continue;
        }
        const QColor colour = colourOf(rgb);
        QPen pen(selected ? QColor(255, 255, 0) : colour, selected ? 3.0 : 1.5);
        pen.setCosmetic(true);
        painter.setPen(pen);
        drawGeometry(painter, map, a.geometry, colour, a.tool == "arrow");
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
        }
        if (a.tool == "text" && !a.text.empty() && !a.geometry.points.empty())
            drawLabel(painter, map(a.geometry.points.front()), QString::fromStdString(a.text));
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
