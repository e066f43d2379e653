#pragma once

// An image seen with a pixel size given from outside its file (a project's per-image setting):
// everything as the file has it but the level-0 pixel size. The analysis keys its results by the
// given size too (kGivenPixelSizeProperty), so they never mix with results at the file's scale.

#include "image/ImageSource.h"

#include <memory>

namespace lucida {

// The property the given size is listed under ("0.25 µm (project)"); SlideAnalysis's key reads it.
inline constexpr const char* kGivenPixelSizeProperty = "lucida.given_pixel_size_um";

// `source` with `micronsPerPixel` (> 0) for both axes (its display unit stays the file's).
std::unique_ptr<ImageSource> withPixelSize(std::unique_ptr<ImageSource> source,
                                           double micronsPerPixel);

}  // namespace lucida
