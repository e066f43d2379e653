#pragma once

#include "image/ImageSource.h"

#include <QImage>

#include <vector>

namespace lucida::ui {

// Stored grey value -> displayed ARGB, for one mapping and window (DICOM's linear VOI function).
class GrayLut {
public:
    GrayLut() = default;
    GrayLut(const GrayMapping& mapping, const Window& window);
    std::uint32_t operator[](std::uint16_t stored) const { return table_[stored]; }
    bool empty() const { return table_.empty(); }

private:
    std::vector<std::uint32_t> table_;
};

// A decoded tile as something QPainter draws fast: ARGB32 premultiplied. Grey tiles go through
// `lut`, which must then be non-empty.
QImage toDisplayImage(const PixelBuffer& tile, const GrayLut& lut);

// The same windowing for one value, 0..255 (core's windowedGray, which the model input uses
// too); exposed for tests and the overview.
int windowedGray(double value, const Window& window);

}  // namespace lucida::ui
