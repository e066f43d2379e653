#include "annotations/HeatRegions.h"

#include "annotations/AnnotationGeometry.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace lucida {

namespace {

cv::Mat heatMat(const FloatRaster& heat) {
    cv::Mat m(heat.height, heat.width, CV_32F);
    for (int y = 0; y < heat.height; ++y)
        for (int x = 0; x < heat.width; ++x) {
            const float v = heat.at(x, y);
            m.at<float>(y, x) = std::isfinite(v) ? v : 0.f;
        }
    return m;
}

constexpr int kTrace = 4;  // outlines traced at a quarter of a heat cell

Ring ringOf(const std::vector<cv::Point>& contour, double cellSize) {
    Ring r;
    r.reserve(contour.size());
    for (const cv::Point& p : contour)
        r.push_back({(p.x + 0.5) / kTrace * cellSize, (p.y + 0.5) / kTrace * cellSize});
    return r;
}

// Marks in `mask` every cell whose centre lies inside `p` (even-odd over its rings): a scanline
// per row, exact where a rasteriser would round the outline to whole cells.
void markCentresInside(const PolygonRings& p, const FloatRaster& heat, cv::Mat& mask) {
    std::vector<const Ring*> rings{&p.outer};
    for (const Ring& h : p.holes) rings.push_back(&h);
    std::vector<double> crossings;
    for (int y = 0; y < heat.height; ++y) {
        const double cy = (y + 0.5) * heat.cellSize;
        crossings.clear();
        for (const Ring* ring : rings)
            for (std::size_t i = 0, n = ring->size(); i < n; ++i) {
                const Point2& a = (*ring)[i];
                const Point2& b = (*ring)[(i + 1) % n];
                if ((a.y <= cy) != (b.y <= cy))
                    crossings.push_back(a.x + (cy - a.y) / (b.y - a.y) * (b.x - a.x));
            }
        std::sort(crossings.begin(), crossings.end());
        for (std::size_t k = 0; k + 1 < crossings.size(); k += 2) {
            // cells with crossings[k] < centre < crossings[k + 1]
            const int x0 = std::max(0, int(std::floor(crossings[k] / heat.cellSize - 0.5)) + 1);
            const int x1 = std::min(heat.width - 1,
                                    int(std::ceil(crossings[k + 1] / heat.cellSize - 0.5)) - 1);
            for (int x = x0; x <= x1; ++x) mask.at<std::uint8_t>(y, x) = 255;
        }
    }
}

}  // namespace

std::vector<Annotation> heatRegions(const FloatRaster& heat, const HeatRegionOptions& options) {
    std::vector<Annotation> out;
    if (heat.width <= 0 || heat.height <= 0) return out;
    cv::Mat m = heatMat(heat);
    if (options.smoothCells > 0) cv::GaussianBlur(m, m, cv::Size(), options.smoothCells);
    cv::Mat fine;
    cv::resize(m, fine, cv::Size(heat.width * kTrace, heat.height * kTrace), 0, 0,
               cv::INTER_LINEAR);
    cv::Mat mask = fine >= options.threshold;
    std::vector<std::vector<cv::Point>> contours;
    std::vector<cv::Vec4i> hierarchy;
    cv::findContours(mask, contours, hierarchy, cv::RETR_CCOMP, cv::CHAIN_APPROX_SIMPLE);
    for (std::size_t i = 0; i < contours.size(); ++i) {
        if (hierarchy[i][3] >= 0 || contours[i].size() < 3) continue;  // holes come with parents
        Geometry g;
        g.type = Geometry::Type::Polygon;
        PolygonRings p;
        p.outer = ringOf(contours[i], heat.cellSize);
        for (int h = hierarchy[i][2]; h >= 0; h = hierarchy[std::size_t(h)][0])
            if (contours[std::size_t(h)].size() >= 3)
                p.holes.push_back(ringOf(contours[std::size_t(h)], heat.cellSize));
        g.polygons.push_back(std::move(p));
        g = simplify(g, heat.cellSize / 2);
        if (!invalidReason(g).empty()) {
            std::optional<Geometry> valid = makeValid(g);
            if (!valid) continue;
            g = std::move(*valid);
        }
        if (geometryArea(g) < std::max(options.minArea, 1e-9)) continue;
        Annotation a;
        a.id = newAnnotationId();
        a.tool = "heat-region";
        a.className = options.className;
        a.geometry = std::move(g);
        out.push_back(std::move(a));
    }
    std::sort(out.begin(), out.end(), [](const Annotation& a, const Annotation& b) {
        return geometryArea(a.geometry) > geometryArea(b.geometry);
    });
    char name[64];
    for (std::size_t k = 0; k < out.size(); ++k) {
        std::snprintf(name, sizeof name, "Heat >= %.2f #%zu", options.threshold, k + 1);
        out[k].name = name;
    }
    return out;
}

HeatInside heatInside(const FloatRaster& heat, const std::vector<const Annotation*>& areas) {
    HeatInside r;
    if (heat.width <= 0 || heat.height <= 0) return r;
    cv::Mat mask = cv::Mat::zeros(heat.height, heat.width, CV_8U);
    for (const Annotation* a : areas) {
        if (!a || !a->geometry.isArea()) continue;
        ++r.areas;
        for (const PolygonRings& p : a->geometry.polygons) markCentresInside(p, heat, mask);
    }
    double total = 0, inside = 0;
    float best = -1;
    int bx = 0, by = 0;
    for (int y = 0; y < heat.height; ++y)
        for (int x = 0; x < heat.width; ++x) {
            const float v = heat.at(x, y);
            if (!std::isfinite(v)) continue;
            if (v > best) best = v, bx = x, by = y;
            if (v <= 0) continue;
            total += v;
            if (mask.at<std::uint8_t>(y, x)) inside += v;
        }
    r.energyShare = total > 0 ? inside / total : 0;
    if (best >= 0) {
        // A plateau of equal maxima (a saturated map): its cell nearest the plateau's centre,
        // not the first in row order, which lies on its edge.
        double sx = 0, sy = 0, n = 0;
        for (int y = 0; y < heat.height; ++y)
            for (int x = 0; x < heat.width; ++x)
                if (heat.at(x, y) == best) sx += x, sy += y, ++n;
        double nearest = std::numeric_limits<double>::infinity();
        for (int y = 0; y < heat.height; ++y)
            for (int x = 0; x < heat.width; ++x)
                if (heat.at(x, y) == best) {
                    const double d = std::hypot(x - sx / n, y - sy / n);
                    if (d < nearest) nearest = d, bx = x, by = y;
                }
        r.peakValue = best;
        r.peak = {(bx + 0.5) * heat.cellSize, (by + 0.5) * heat.cellSize};
        r.peakInside = mask.at<std::uint8_t>(by, bx) != 0;
    }
    return r;
}

}  // namespace lucida
