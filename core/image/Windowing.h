#pragma once

#include "image/ImageSource.h"
#include "image/PixelBuffer.h"

#include <cstdint>
#include <vector>

namespace lucida {

// The one DICOM window (PS3.3 C.11.2.1.2, the linear VOI function) of Lucida: what the model is
// shown (model/Preprocess) and what the user sees (the viewer's grey tiles) go through it, so
// the two cannot drift apart.

// A real (mapped) value -> 0..255 through `window`.
std::uint8_t windowedGray(double value, const Window& window);

// Every stored 16-bit value -> 0..255 through `mapping` and `window` (65,536 entries).
std::vector<std::uint8_t> windowTable(const GrayMapping& mapping, const Window& window);

// A Gray16 buffer -> one byte per pixel, rows packed (width bytes each).
std::vector<std::uint8_t> windowGray16(const PixelBuffer& image, const GrayMapping& mapping,
                                       const Window& window);

}  // namespace lucida
