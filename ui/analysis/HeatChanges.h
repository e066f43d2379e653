#pragma once

#include "analysis/AnalysisOutputs.h"

#include <cstdint>
#include <vector>

namespace lucida::ui {

// Where a heat raster changed between two results of one analysis: the cells whose values
// differ, kept as counts per block of kBlock² cells with prefix sums, so "did anything under
// this tile change?" is four look-ups whatever the raster's size. Made on the heat worker thread.
class HeatChanges {
public:
    static constexpr int kBlock = 4;

    HeatChanges() = default;
    // `before` and `after` must have the same size and cell size (else: everything changed).
    HeatChanges(const FloatRaster& before, const FloatRaster& after);

    bool none() const { return changedCells_ == 0; }
    std::uint64_t changedCells() const { return changedCells_; }
    // Whether a cell in columns [x0, x1) and rows [y0, y1) changed (clamped to the raster).
    // Counted per block: cells beside a changed one in its block count as changed.
    bool any(std::int64_t x0, std::int64_t y0, std::int64_t x1, std::int64_t y1) const;

private:
    int blocksX_ = 0, blocksY_ = 0;
    bool everything_ = false;
    std::uint64_t changedCells_ = 0;
    std::vector<std::uint32_t> sums_;  // (blocksX_ + 1) x (blocksY_ + 1) prefix sums
};

// The cells of the level-0 raster (cell size `cellSize`, `width` x `height` cells) that a heat
// tile of `level` at (col, row) reads: its area widened to the cells of the halved copy it is
// drawn from (`halvings` times, see HeatTiles), plus one such cell each side (the bilinear taps).
struct CellRange {
    std::int64_t x0 = 0, y0 = 0, x1 = 0, y1 = 0;
};
CellRange cellsUnderTile(double cellSize, int halvings, int level, std::int64_t col,
                         std::int64_t row, int tileSize);

}  // namespace lucida::ui
