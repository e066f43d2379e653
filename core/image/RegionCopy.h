#pragma once

#include "image/ImageSource.h"
#include "image/PixelBuffer.h"

namespace lucida {

// The part of `rect` that lies inside a width x height grid, or an empty rect.
Rect clipRect(const Rect& rect, std::int64_t width, std::int64_t height);

// Copies `rect` out of a fully decoded image held as `src` (any format, same as the result),
// zero-filling what lies outside. Used by sources that keep their pixels in memory.
PixelBuffer copyRegion(const PixelBuffer& src, const Rect& rect);

}  // namespace lucida
