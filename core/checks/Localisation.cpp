#include "checks/Localisation.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace lucida {

namespace {

void requireMaskOf(const FloatTensor& map, const std::vector<bool>& mask) {
    if (map.dims() != 2 || mask.size() != map.data.size())
        throw std::invalid_argument("localisation: the mask must have the map's [H, W] size");
}

}  // namespace

bool pointingHit(const FloatTensor& map, const std::vector<bool>& mask, double tolerance) {
    requireMaskOf(map, mask);
    const auto best = std::max_element(map.data.begin(), map.data.end());
    if (*best <= 0) return false;
    const auto w = map.size(1), h = map.size(0);
    const auto at = std::distance(map.data.begin(), best);
    const auto py = at / w, px = at % w;
    const auto reach = static_cast<std::int64_t>(std::floor(tolerance));
    for (auto y = std::max<std::int64_t>(0, py - reach); y <= std::min(h - 1, py + reach); ++y)
        for (auto x = std::max<std::int64_t>(0, px - reach); x <= std::min(w - 1, px + reach); ++x)
            if (mask[static_cast<std::size_t>(y * w + x)] &&
                std::hypot(double(y - py), double(x - px)) <= tolerance)
                return true;
    return false;
}

double energyInMask(const FloatTensor& map, const std::vector<bool>& mask) {
    requireMaskOf(map, mask);
    double inside = 0, total = 0;
    for (std::size_t i = 0; i < map.data.size(); ++i) {
        const double v = std::max(0.0f, map.data[i]);
        total += v;
        if (mask[i]) inside += v;
    }
    return total > 0 ? inside / total : 0.0;
}

}  // namespace lucida
