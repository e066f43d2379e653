#include "TileImage.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

namespace lucida::ui {

int windowedGray(double value, const Window& w) {
    // DICOM PS3.3 C.11.2.1.2 linear function.
    const double c = w.centre - 0.5, width = std::max(w.width - 1.0, 1e-6);
    const double t = (value - c) / width + 0.5;
    return static_cast<int>(std::lround(std::clamp(t, 0.0, 1.0) * 255.0));
}

GrayLut::GrayLut(const GrayMapping& mapping, const Window& window) : table_(65536) {
    for (std::size_t s = 0; s < table_.size(); ++s) {
        const auto g = static_cast<std::uint32_t>(
            windowedGray(mapping.toValue(static_cast<std::uint16_t>(s)), window));
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
