#include "FigureDecorations.h"

#include "annotations/Annotation.h"

#include <QFont>
#include <QFontMetricsF>
#include <QLinearGradient>
#include <QPainter>
#include <QPainterPath>

#include <cmath>

namespace lucida::ui {

namespace {

QFont figureFont(double unit) {
    QFont font(QStringLiteral("DejaVu Sans"));
    font.setPixelSize(std::max(1, int(std::lround(unit))));
    return font;
}

QColor colourOf(const Annotation& a, const AnnotationSet& set) {
    Rgb rgb = 0xC8C8C8;
    if (a.colour)
        rgb = *a.colour;
    else if (const AnnotationClass* c = set.findClass(a.className))
        rgb = c->colour;
    return QColor(int(rgb >> 16) & 0xFF, int(rgb >> 8) & 0xFF, int(rgb) & 0xFF);
}

QPolygonF ringPolygon(const Ring& ring) {
    QPolygonF p;
    p.reserve(int(ring.size()) + 1);
    for (const Point2& q : ring) p << QPointF(q.x, q.y);
    if (!ring.empty()) p << QPointF(ring.front().x, ring.front().y);
    return p;
}

// The geometry's outline in level-0 coordinates (points become small circles later).
QPainterPath pathOf(const Geometry& g) {
    QPainterPath path;
    path.setFillRule(Qt::OddEvenFill);
    if (g.isArea()) {
        for (const PolygonRings& polygon : g.polygons) {
            path.addPolygon(ringPolygon(polygon.outer));
            for (const Ring& hole : polygon.holes) path.addPolygon(ringPolygon(hole));
        }
    } else if (g.isLine() && !g.points.empty()) {
        path.moveTo(g.points.front().x, g.points.front().y);
        for (std::size_t i = 1; i < g.points.size(); ++i) path.lineTo(g.points[i].x, g.points[i].y);
    }
    return path;
}

QString labelOf(const Annotation& a) {
    if (!a.text.empty()) return QString::fromStdString(a.text);
    if (!a.name.empty()) return QString::fromStdString(a.name);
    return QString::fromStdString(a.className);
}

void drawLabel(QPainter& painter, QPointF at, const QString& text, const QColor& colour,
               double unit) {
    if (text.isEmpty()) return;
    painter.setFont(figureFont(unit * 0.85));
    const QFontMetricsF metrics(painter.font());
    QRectF box(at.x(), at.y() - metrics.height() - unit * 0.3,
               metrics.horizontalAdvance(text) + unit * 0.6, metrics.height() + unit * 0.2);
    painter.setPen(Qt::NoPen);
    painter.setBrush(QColor(255, 255, 255, 215));
    painter.drawRect(box);
    painter.setPen(colour.darker(130));
    painter.drawText(box, Qt::AlignCenter, text);
}

}  // namespace

QString figureAnnotationLabel(const Annotation& a, const PixelSize* pixel) {
    QString label = labelOf(a);
    if (!pixel || !(a.geometry.isArea() || a.geometry.isLine())) return label;
    const QString measured = QString::fromStdString(measure(a.geometry, *pixel).text);
    return label.isEmpty() ? measured : label + QStringLiteral(" · ") + measured;
}

void drawFigureAnnotations(QPainter& painter, const AnnotationSet& annotations, const QRect& panel,
                           const RectF& region, double scale, double unit, const PixelSize* pixel) {
    painter.save();
    painter.setClipRect(panel);
    painter.setRenderHint(QPainter::Antialiasing, true);
    const QTransform toPanel = QTransform::fromTranslate(-region.x, -region.y) *
                               QTransform::fromScale(scale, scale) *
                               QTransform::fromTranslate(panel.x(), panel.y());
    const QRectF shown(region.x, region.y, region.width, region.height);
    const double line = std::max(1.5, unit / 6);
    QPainterPath panelPath;
    panelPath.addRect(QRectF(panel));
    for (const Annotation& a : annotations.items) {
        const Bounds b = boundsOf(a.geometry);
        const QRectF box(b.x0, b.y0, b.x1 - b.x0, b.y1 - b.y0);
        // A point's box has no area: test its corner.
        if (b.empty() || !(box.intersects(shown) || shown.contains(box.topLeft()))) continue;
        const QColor colour = colourOf(a, annotations);
        painter.setPen(QPen(colour, line));
        if (a.geometry.isArea() || a.geometry.isLine()) {
            QColor fill = colour;
            fill.setAlpha(a.geometry.isArea() ? 40 : 0);
            painter.setBrush(a.geometry.isArea() ? QBrush(fill) : Qt::NoBrush);
            // Cut to the panel in the geometry itself: SVG output ignores the clip.
            QPainterPath path = toPanel.map(pathOf(a.geometry));
            if (a.geometry.isArea()) path = path.intersected(panelPath);
            painter.drawPath(path);
        } else {
            painter.setBrush(colour);
            for (const Point2& p : a.geometry.points) {
                QPainterPath dot;
                dot.addEllipse(toPanel.map(QPointF(p.x, p.y)), line * 2, line * 2);
                painter.drawPath(dot);
            }
        }
        if (!a.detection && QRectF(panel).contains(toPanel.map(QPointF(b.x0, b.y0))))
            drawLabel(painter, toPanel.map(QPointF(b.x0, b.y0)), figureAnnotationLabel(a, pixel),
                      colour, unit);
    }
    painter.restore();
}

namespace {

struct ScaleBarMetrics {
    int pad, thick, textH;
    QSize box;
};

ScaleBarMetrics scaleBarMetrics(const FigureScaleBar& bar, double unit) {
    const QFontMetricsF metrics(figureFont(unit));
    ScaleBarMetrics m;
    m.pad = int(std::lround(unit * 0.6));
    m.thick = std::max(3, int(std::lround(unit * 0.4)));
    m.textH = int(std::ceil(metrics.height()));
    m.box = QSize(
        std::max(bar.pixels, int(std::ceil(metrics.horizontalAdvance(bar.label)))) + 2 * m.pad,
        m.textH + m.thick + 3 * m.pad / 2);
    return m;
}

}  // namespace

QSize figureScaleBarSize(const FigureScaleBar& bar, double unit) {
    return scaleBarMetrics(bar, unit).box;
}

void drawFigureScaleBar(QPainter& painter, const FigureScaleBar& bar, QPoint topLeft, double unit) {
    if (bar.pixels <= 0) return;
    painter.save();
    painter.setRenderHint(QPainter::Antialiasing, false);
    painter.setFont(figureFont(unit));
    const ScaleBarMetrics m = scaleBarMetrics(bar, unit);
    const int pad = m.pad, thick = m.thick, textH = m.textH;
    const QRect box(topLeft, m.box);
    QPainterPath background;
    background.addRect(box);
    painter.fillPath(background, QColor(255, 255, 255, 220));
    // The bar: exactly `pixels` wide, starting on a whole pixel.
    QPainterPath barPath;
    barPath.addRect(QRectF(box.left() + pad, box.bottom() + 1 - pad - thick, bar.pixels, thick));
    painter.fillPath(barPath, Qt::black);
    painter.setPen(Qt::black);
    painter.setRenderHint(QPainter::TextAntialiasing, true);
    painter.drawText(QRectF(box.left() + pad, box.top() + pad / 2.0, bar.pixels, textH),
                     Qt::AlignHCenter | Qt::AlignVCenter | Qt::TextDontClip, bar.label);
    painter.restore();
}

void drawFigureColourBar(QPainter& painter, const QRectF& area, ColourMap colours, double threshold,
                         const FigureOptions& options, double unit) {
    painter.save();
    painter.setRenderHint(QPainter::Antialiasing, true);
    painter.setFont(figureFont(unit));
    const QFontMetricsF metrics(painter.font());
    const double textH = metrics.height();
    const QRectF bar(area.left(), area.top() + textH + unit * 0.2, area.width(), unit);
    painter.setPen(Qt::black);
    painter.drawText(QRectF(area.left(), area.top(), area.width(), textH),
                     Qt::AlignLeft | Qt::AlignVCenter | Qt::TextDontClip, options.colourBarLabel);
    // The gradient's stops are colouriseMap's own colours, so the bar matches the heat exactly.
    constexpr int kStops = 33;
    FloatTensor ramp({1, kStops});
    for (int i = 0; i < kStops; ++i) ramp.data[std::size_t(i)] = float(i) / (kStops - 1);
    const PixelBuffer rgba = colouriseMap(ramp, colours);
    QLinearGradient gradient(bar.topLeft(), bar.topRight());
    for (int i = 0; i < kStops; ++i) {
        const std::uint8_t* p = rgba.bytes.data() + 4 * i;
        const double t = double(i) / (kStops - 1);
        gradient.setColorAt(t, t < threshold ? QColor(255, 255, 255) : QColor(p[0], p[1], p[2]));
    }
    QPainterPath barPath;
    barPath.addRect(bar);
    painter.fillPath(barPath, gradient);
    painter.setPen(QPen(Qt::black, std::max(1.0, unit / 12)));
    painter.setBrush(Qt::NoBrush);
    painter.drawPath(barPath);
    const QRectF ticks(bar.left(), bar.bottom() + unit * 0.15, bar.width(), textH);
    painter.drawText(ticks, Qt::AlignLeft | Qt::AlignTop, options.colourBarLow);
    painter.drawText(ticks, Qt::AlignRight | Qt::AlignTop, options.colourBarHigh);
    painter.restore();
}

double captionHeight(const QString& text, double width, double unit) {
    const QFontMetricsF metrics(figureFont(unit));
    return metrics.boundingRect(QRectF(0, 0, width, 1e6), Qt::TextWordWrap, text).height() +
           unit * 0.2;
}

void drawFigureCaption(QPainter& painter, const QRectF& area, const QString& text, double unit,
                       bool backdrop) {
    painter.save();
    painter.setFont(figureFont(unit));
    if (backdrop) {
        const QRectF used =
            painter.boundingRect(area, Qt::AlignLeft | Qt::AlignTop | Qt::TextWordWrap, text);
        const double pad = unit * 0.2;
        painter.setPen(Qt::NoPen);
        painter.setBrush(QColor(255, 255, 255, 220));
        painter.drawRect(used.adjusted(-pad, -pad, pad, pad));
    }
    painter.setPen(Qt::black);
    painter.drawText(area, Qt::AlignLeft | Qt::AlignTop | Qt::TextWordWrap, text);
    painter.restore();
}

void drawFigureOverview(QPainter& painter, const QRectF& area, const QImage& thumbnail,
                        const RectF& region, double imageWidth, double imageHeight, double unit) {
    painter.save();
    painter.drawImage(area, thumbnail);
    painter.setRenderHint(QPainter::Antialiasing, true);
    painter.setPen(QPen(Qt::black, std::max(1.0, unit / 10)));
    painter.setBrush(Qt::NoBrush);
    painter.drawRect(area);
    const double sx = area.width() / imageWidth, sy = area.height() / imageHeight;
    QRectF mark(area.left() + region.x * sx, area.top() + region.y * sy, region.width * sx,
                region.height * sy);
    mark = mark.intersected(area);
    QPainterPath path;
    path.addRect(mark);
    painter.setPen(QPen(QColor(230, 30, 30), std::max(1.5, unit / 6)));
    painter.drawPath(path);
    painter.restore();
}

}  // namespace lucida::ui
