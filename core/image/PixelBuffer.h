#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace lucida {

// Rgba8: 4 bytes per pixel, straight (not premultiplied) alpha, R first.
// Gray16: one native-endian uint16 per pixel; the source's GrayMapping turns it into real values.
enum class PixelFormat { Rgba8, Gray16 };

inline int bytesPerPixel(PixelFormat f) { return f == PixelFormat::Rgba8 ? 4 : 2; }

// A tightly packed, row-major image owned by value. Pixels outside the image a source was asked
// for are zero (transparent for Rgba8).
struct PixelBuffer {
    int width = 0;
    int height = 0;
    PixelFormat format = PixelFormat::Rgba8;
    std::vector<std::uint8_t> bytes;

    PixelBuffer() = default;
    PixelBuffer(int w, int h, PixelFormat f)
        : width(w),
          height(h),
          format(f),
          bytes(static_cast<std::size_t>(w) * static_cast<std::size_t>(h) * bytesPerPixel(f)) {}

    bool empty() const { return width == 0 || height == 0; }
    std::size_t stride() const { return static_cast<std::size_t>(width) * bytesPerPixel(format); }
    std::size_t byteSize() const { return bytes.size(); }
    std::uint8_t* row(int y) { return bytes.data() + stride() * static_cast<std::size_t>(y); }
    const std::uint8_t* row(int y) const {
        return bytes.data() + stride() * static_cast<std::size_t>(y);
    }
    const std::uint8_t* rgbaAt(int x, int y) const {
        return row(y) + 4 * static_cast<std::size_t>(x);
    }
    std::uint16_t grayAt(int x, int y) const {
        return reinterpret_cast<const std::uint16_t*>(row(y))[x];
    }
};

}  // namespace lucida
