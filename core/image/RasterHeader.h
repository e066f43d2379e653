#pragma once

#include "image/FileProbe.h"

#include <cstdint>
#include <optional>
#include <string>

namespace lucida {

// What a raster file's header declares, read before decoding so absurd sizes and truncated files
// are refused with a reason instead of handed to the decoder.
struct RasterHeader {
    std::string kind;  // "PNG", "JPEG", "BMP", "TIFF", "WebP"…
    std::int64_t width = 0;
    std::int64_t height = 0;
    bool truncated = false;  // the file visibly ends early (e.g. JPEG without its end marker)
    std::string truncation;  // why we think so
};

// The header of a PNG, JPEG, BMP or TIFF file; nullopt for content that is none of these.
// Throws ImageError when the header itself is broken.
std::optional<RasterHeader> readRasterHeader(const FileProbe& probe);

}  // namespace lucida
