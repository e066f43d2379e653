#include "annotations/AnnotationMeasure.h"

#include "annotations/AnnotationGeometry.h"

#include <cmath>
#include <cstdio>

namespace lucida {

namespace {

std::string fixed(double v) {
    char s[64];
    const double a = std::abs(v);
    std::snprintf(s, sizeof s, a >= 100 ? "%.0f" : a >= 10 ? "%.1f" : "%.2f", v);
    return s;
}

// Physical length of the polyline `p` (pixels scaled separately in x and y).
double scaledLength(const std::vector<Point2>& p, double sx, double sy, bool closed) {
    double sum = 0;
    const std::size_t n = p.size();
    for (std::size_t i = 0; i + 1 < n + (closed ? 1 : 0); ++i) {
        const Point2& a = p[i];
        const Point2& b = p[(i + 1) % n];
        sum += std::hypot((b.x - a.x) * sx, (b.y - a.y) * sy);
    }
    return sum;
}

}  // namespace

std::string lengthText(double length, const PixelSize& pixel) {
    if (!pixel.known()) return fixed(length) + " px";
    if (pixel.unit == PixelSize::Unit::Micrometre && length >= 1000)
        return fixed(length / 1000) + " mm";
    return fixed(length) + (pixel.unit == PixelSize::Unit::Micrometre ? " µm" : " mm");
}

std::string areaText(double area, const PixelSize& pixel) {
    if (!pixel.known()) return fixed(area) + " px²";
    if (pixel.unit == PixelSize::Unit::Micrometre && area >= 1e6) return fixed(area / 1e6) + " mm²";
    return fixed(area) + (pixel.unit == PixelSize::Unit::Micrometre ? " µm²" : " mm²");
}

Measurement measure(const Geometry& g, const PixelSize& pixel) {
    const double sx = pixel.known() ? pixel.x : 1, sy = pixel.known() ? pixel.y : 1;
    Measurement m;
    m.unit = !pixel.known() ? "px" : pixel.unit == PixelSize::Unit::Micrometre ? "µm" : "mm";
    if (g.isArea()) {
        m.area = geometryArea(g) * sx * sy;
        for (const PolygonRings& p : g.polygons) m.length += scaledLength(p.outer, sx, sy, true);
        m.text = areaText(m.area, pixel);
    } else if (g.isLine()) {
        m.length = scaledLength(g.points, sx, sy, false);
        m.text = lengthText(m.length, pixel);
    } else {
        const std::size_t n = g.points.size();
        m.text = std::to_string(n) + (n == 1 ? " point" : " points");
    }
    return m;
}

}  // namespace lucida
