#include "image/RegionCopy.h"

#include <algorithm>
#include <cstring>

namespace lucida {

Rect clipRect(const Rect& r, std::int64_t width, std::int64_t height) {
    const std::int64_t x0 = std::max<std::int64_t>(r.x, 0);
    const std::int64_t y0 = std::max<std::int64_t>(r.y, 0);
    const std::int64_t x1 = std::min<std::int64_t>(r.x + r.width, width);
    const std::int64_t y1 = std::min<std::int64_t>(r.y + r.height, height);
    if (x1 <= x0 || y1 <= y0) return {};
    return {x0, y0, x1 - x0, y1 - y0};
}

PixelBuffer copyRegion(const PixelBuffer& src, const Rect& rect) {
    PixelBuffer out(static_cast<int>(rect.width), static_cast<int>(rect.height), src.format);
    const Rect inside = clipRect(rect, src.width, src.height);
    if (inside.width == 0) return out;
    const std::size_t bpp = static_cast<std::size_t>(bytesPerPixel(src.format));
    for (std::int64_t y = inside.y; y < inside.y + inside.height; ++y) {
        const std::uint8_t* from =
            src.row(static_cast<int>(y)) + bpp * static_cast<std::size_t>(inside.x);
        std::uint8_t* to = out.row(static_cast<int>(y - rect.y)) +
                           bpp * static_cast<std::size_t>(inside.x - rect.x);
        std::memcpy(to, from, bpp * static_cast<std::size_t>(inside.width));
    }
    return out;
}

}  // namespace lucida
