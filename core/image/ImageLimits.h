#pragma once
// The largest frame an image source decodes whole (a PNG, JPEG or TIFF read at once, one DICOM
// frame): a guard against decompression bombs, small files that declare huge frames. Tiled slides
// are read tile by tile and are not limited. 2^30 pixels unless the environment variable
// LUCIDA_MAX_IMAGE_PIXELS sets another (as OpenCV's OPENCV_IO_MAX_IMAGE_PIXELS or Pillow's
// Image.MAX_IMAGE_PIXELS do); the fuzzers set a small one so that decoding stays quick.
#include <cstdint>
#include <string>

namespace lucida {

inline constexpr std::int64_t kDefaultMaxImagePixels = std::int64_t{1} << 30;

std::int64_t maxImagePixels();
void setMaxImagePixels(std::int64_t pixels);

// "over the limit of N pixels (LUCIDA_MAX_IMAGE_PIXELS)", for errors that refuse a frame.
std::string imagePixelLimitText();

}  // namespace lucida
