#include "annotations/AnnotationIndex.h"

#include <algorithm>
#include <cmath>

namespace lucida {

namespace {

constexpr std::int64_t kMaxCellsPerObject = 64;

std::uint64_t key(std::int64_t cx, std::int64_t cy) {
    return (std::uint64_t(std::uint32_t(cx)) << 32) | std::uint32_t(cy);
}

bool intersects(const Bounds& a, const Bounds& b) {
    return a.x0 <= b.x1 && b.x0 <= a.x1 && a.y0 <= b.y1 && b.y0 <= a.y1;
}

}  // namespace

void AnnotationIndex::rebuild(const std::vector<Annotation>& items) {
    bounds_.clear();
    cells_.clear();
    large_.clear();
    bounds_.reserve(items.size());
    for (std::size_t i = 0; i < items.size(); ++i) {
        const Bounds b = boundsOf(items[i].geometry);
        bounds_.push_back(b);
        if (b.empty()) continue;
        const auto x0 = std::int64_t(std::floor(b.x0 / cell_)),
                   x1 = std::int64_t(std::floor(b.x1 / cell_));
        const auto y0 = std::int64_t(std::floor(b.y0 / cell_)),
                   y1 = std::int64_t(std::floor(b.y1 / cell_));
        if ((x1 - x0 + 1) * (y1 - y0 + 1) > kMaxCellsPerObject) {
            large_.push_back(std::uint32_t(i));
            continue;
        }
        for (auto cy = y0; cy <= y1; ++cy)
            for (auto cx = x0; cx <= x1; ++cx) cells_[key(cx, cy)].push_back(std::uint32_t(i));
    }
}

std::vector<std::size_t> AnnotationIndex::query(const Bounds& view) const {
    std::vector<std::size_t> out;
    if (view.empty()) return out;
    const auto x0 = std::int64_t(std::floor(view.x0 / cell_)),
               x1 = std::int64_t(std::floor(view.x1 / cell_));
    const auto y0 = std::int64_t(std::floor(view.y0 / cell_)),
               y1 = std::int64_t(std::floor(view.y1 / cell_));
    if ((x1 - x0 + 1) * (y1 - y0 + 1) > std::int64_t(cells_.size())) {
        for (std::size_t i = 0; i < bounds_.size(); ++i)  // a view wider than the objects: scan
            if (!bounds_[i].empty() && intersects(bounds_[i], view)) out.push_back(i);
        return out;
    }
    for (auto cy = y0; cy <= y1; ++cy)
        for (auto cx = x0; cx <= x1; ++cx) {
            auto it = cells_.find(key(cx, cy));
            if (it == cells_.end()) continue;
            for (std::uint32_t i : it->second)
                if (intersects(bounds_[i], view)) out.push_back(i);
        }
    for (std::uint32_t i : large_)
        if (intersects(bounds_[i], view)) out.push_back(i);
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

}  // namespace lucida
