#include "LocalisationScore.h"

#include "checks/Localisation.h"

#include <algorithm>
#include <cmath>

namespace lucida {

int MethodScore::hits() const {
    return int(std::count_if(regions.begin(), regions.end(), [](auto& r) { return r.hit; }));
}

double MethodScore::pointingAccuracy() const {
    return regions.empty() ? 0.0 : double(hits()) / double(regions.size());
}

double MethodScore::energyMean() const {
    double sum = 0;
    for (const RegionScore& r : regions) sum += r.energy;
    return regions.empty() ? 0.0 : sum / double(regions.size());
}

RectF localisationWindow(const Geometry& region, double imageWidth, double imageHeight) {
    const Bounds b = boundsOf(region);
    const double margin = 0.5 * std::max(b.x1 - b.x0, b.y1 - b.y0);
    const double x0 = std::clamp(b.x0 - margin, 0.0, imageWidth),
                 y0 = std::clamp(b.y0 - margin, 0.0, imageHeight),
                 x1 = std::clamp(b.x1 + margin, 0.0, imageWidth),
                 y1 = std::clamp(b.y1 + margin, 0.0, imageHeight);
    if (b.empty() || x1 <= x0 || y1 <= y0) return {};
    return {x0, y0, x1 - x0, y1 - y0};
}

FloatTensor windowMap(const RegionCam& cam, const RectF& window, int* column, int* row,
                      bool* analysed) {
    const FloatRaster& r = cam.raster;
    const double c = r.cellSize;
    // Cells whose centres (i + 0.5) * c lie in [x, x + width).
    auto first = [c](double from) { return std::max(0, int(std::ceil(from / c - 0.5))); };
    const int x0 = first(window.x), y0 = first(window.y);
    const int x1 = std::min(r.width, first(window.x + window.width)),
              y1 = std::min(r.height, first(window.y + window.height));
    *column = x0, *row = y0;
    FloatTensor map({std::max(0, y1 - y0), std::max(0, x1 - x0)});
    const double scale = double(cam.rawHigh) - double(cam.rawLow);
    if (analysed) *analysed = false;
    for (int y = y0; y < y1; ++y)
        for (int x = x0; x < x1; ++x) {
            const float v = r.at(x, y);
            if (analysed && std::isfinite(v)) *analysed = true;
            map.data[std::size_t(y - y0) * std::size_t(x1 - x0) + std::size_t(x - x0)] =
                std::isfinite(v) ? float(cam.rawLow + v * scale) : 0.f;
        }
    return map;
}

std::vector<bool> regionMask(const Geometry& region, double cellSize, int column, int row,
                             int width, int height) {
    std::vector<bool> mask(std::size_t(std::max(0, width * height)), false);
    std::vector<double> crossings;
    for (int y = 0; y < height; ++y) {
        const double cy = (row + y + 0.5) * cellSize;
        crossings.clear();
        for (const PolygonRings& p : region.polygons) {
            std::vector<const Ring*> rings{&p.outer};
            for (const Ring& h : p.holes) rings.push_back(&h);
            for (const Ring* ring : rings)
                for (std::size_t i = 0, n = ring->size(); i < n; ++i) {
                    const Point2& a = (*ring)[i];
                    const Point2& b = (*ring)[(i + 1) % n];
                    if ((a.y <= cy) != (b.y <= cy))
                        crossings.push_back(a.x + (cy - a.y) / (b.y - a.y) * (b.x - a.x));
                }
        }
        std::sort(crossings.begin(), crossings.end());
        for (int x = 0; x < width; ++x) {
            const double cx = (column + x + 0.5) * cellSize;
            const auto left = std::lower_bound(crossings.begin(), crossings.end(), cx);
            mask[std::size_t(y * width + x)] = (left - crossings.begin()) % 2 == 1;
        }
    }
    return mask;
}

std::optional<std::vector<MethodScore>> scoreLocalisation(const ImageSource& source,
                                                          const Model& model,
                                                          const LocalisationRequest& request,
                                                          const LocalisationCallbacks& callbacks) {
    std::vector<MethodScore> scores(request.methods.size());
    std::vector<RegionCamRequest> cams;
    for (std::size_t m = 0; m < request.methods.size(); ++m) {
        scores[m].method = canonicalCamMethod(request.methods[m]);
        cams.push_back({scores[m].method, request.settings.classIndex});
    }
    const double regions = double(request.regions.size()), methods = double(cams.size());
    for (std::size_t k = 0; k < request.regions.size(); ++k) {
        const Geometry& region = request.regions[k].geometry;
        const RectF window = localisationWindow(region, request.imageWidth, request.imageHeight);
        RegionCamCallbacks cb;
        cb.cancelled = callbacks.cancelled;
        cb.progress = [&](std::size_t m, std::size_t done, std::size_t total) {
            const double part =
                (double(m) + (total ? double(done) / double(total) : 1.0)) / methods;
            if (callbacks.progress) callbacks.progress((double(k) + part) / regions);
        };
        std::optional<std::vector<RegionCam>> maps;
        if (window.width > 0) {
            maps = computeRegionCams(source, model, request.settings, cams, window,
                                     request.resultsRoot, cb);
            if (!maps) return std::nullopt;
        }
        for (std::size_t m = 0; m < cams.size(); ++m) {
            RegionScore s;
            if (maps) {
                int column = 0, row = 0;
                const FloatTensor map = windowMap((*maps)[m], window, &column, &row, &s.analysed);
                const int h = int(map.size(0)), w = int(map.size(1));
                const auto mask = regionMask(region, (*maps)[m].raster.cellSize, column, row, w, h);
                if (h > 0 && w > 0) {
                    s.hit = pointingHit(map, mask, 0);  // the peak's own cell, as evaluate
                    s.energy = energyInMask(map, mask);
                }
            }
            scores[m].regions.push_back(s);
        }
    }
    return scores;
}

}  // namespace lucida
