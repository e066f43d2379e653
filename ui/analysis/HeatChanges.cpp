#include "HeatChanges.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace lucida::ui {

HeatChanges::HeatChanges(const FloatRaster& before, const FloatRaster& after) {
    if (before.width != after.width || before.height != after.height ||
        before.cellSize != after.cellSize || before.values.size() != after.values.size()) {
        everything_ = true;
        changedCells_ = after.values.size() + 1;
        return;
    }
    blocksX_ = (after.width + kBlock - 1) / kBlock;
    blocksY_ = (after.height + kBlock - 1) / kBlock;
    const auto stride = static_cast<std::size_t>(blocksX_) + 1;
    sums_.assign(stride * (static_cast<std::size_t>(blocksY_) + 1), 0);
    // Counts per block first (at [by + 1][bx + 1]); bit patterns compared, so NaN equals NaN.
    for (int y = 0; y < after.height; ++y) {
        const float* a = before.values.data() + static_cast<std::size_t>(y) * after.width;
        const float* b = after.values.data() + static_cast<std::size_t>(y) * after.width;
        std::uint32_t* counts = sums_.data() + (static_cast<std::size_t>(y / kBlock) + 1) * stride;
        for (int x = 0; x < after.width; ++x)
            if (std::memcmp(a + x, b + x, sizeof(float)) != 0) {
                ++counts[x / kBlock + 1];
                ++changedCells_;
            }
    }
    if (changedCells_ == 0) return;
    for (int by = 1; by <= blocksY_; ++by)
        for (int bx = 1; bx <= blocksX_; ++bx) {
            const std::size_t i = static_cast<std::size_t>(by) * stride + bx;
            sums_[i] += sums_[i - 1] + sums_[i - stride] - sums_[i - stride - 1];
        }
}

bool HeatChanges::any(std::int64_t x0, std::int64_t y0, std::int64_t x1, std::int64_t y1) const {
    if (changedCells_ == 0) return false;
    if (everything_) return true;
    const auto block = [](std::int64_t v, int limit, bool up) {
        const std::int64_t b = up ? (v + kBlock - 1) / kBlock : v / kBlock;
        return static_cast<std::size_t>(std::clamp<std::int64_t>(b, 0, limit));
    };
    const std::size_t bx0 = block(std::max<std::int64_t>(x0, 0), blocksX_, false),
                      by0 = block(std::max<std::int64_t>(y0, 0), blocksY_, false),
                      bx1 = block(x1, blocksX_, true), by1 = block(y1, blocksY_, true);
    if (bx1 <= bx0 || by1 <= by0) return false;
    const std::size_t stride = static_cast<std::size_t>(blocksX_) + 1;
    const auto at = [&](std::size_t bx, std::size_t by) { return sums_[by * stride + bx]; };
    return at(bx1, by1) - at(bx0, by1) - at(bx1, by0) + at(bx0, by0) != 0;
}

CellRange cellsUnderTile(double cellSize, int halvings, int level, std::int64_t col,
                         std::int64_t row, int tileSize) {
    const double span = tileSize * std::ldexp(1.0, level);  // level-0 pixels
    const double halved = cellSize * std::ldexp(1.0, halvings);
    const std::int64_t factor = std::int64_t{1} << halvings;
    const auto from = [&](std::int64_t i) {
        return (static_cast<std::int64_t>(std::floor(i * span / halved)) - 1) * factor;
    };
    const auto to = [&](std::int64_t i) {
        return (static_cast<std::int64_t>(std::ceil((i + 1) * span / halved)) + 1) * factor;
    };
    return {from(col), from(row), to(col), to(row)};
}

}  // namespace lucida::ui
