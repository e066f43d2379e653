#include "TileImage.h"

#include "image/Windowing.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

namespace lucida::ui {

int windowedGray(double value, const Window& w) { return lucida::windowedGray(value, w); }

GrayLut::GrayLut(const GrayMapping& mapping, const Window& window) : table_(65536) {
    const std::vector<std::uint8_t> grey = windowTable(mapping, window);
    for (std::size_t s = 0; s < table_.size(); ++s) {
        const std::uint32_t g = grey[s];
        table_[s] = 0xFF000000u | (g << 16) | (g << 8) | g;
    }
}

QImage toDisplayImage(const PixelBuffer& tile, const GrayLut& lut) {
    if (tile.format == PixelFormat::Rgba8) {
        const QImage wrapped(tile.bytes.data(), tile.width, tile.height,
                             static_cast<qsizetype>(tile.stride()), QImage::Format_RGBA8888);
        return wrapped.convertToFormat(QImage::Format_ARGB32_Premultiplied);
    }
    QImage image(tile.width, tile.height, QImage::Format_ARGB32_Premultiplied);
    for (int y = 0; y < tile.height; ++y) {
        const auto* in = reinterpret_cast<const std::uint16_t*>(tile.row(y));
        auto* out = reinterpret_cast<std::uint32_t*>(image.scanLine(y));
        for (int x = 0; x < tile.width; ++x) out[x] = lut[in[x]];
    }
    return image;
}

}  // namespace lucida::ui
