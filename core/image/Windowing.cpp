#include "image/Windowing.h"

#include <algorithm>
#include <cmath>

namespace lucida {

std::uint8_t windowedGray(double value, const Window& window) {
    const double centre = window.centre - 0.5, width = std::max(window.width - 1.0, 1e-6);
    const double t = (value - centre) / width + 0.5;
    return static_cast<std::uint8_t>(std::lround(std::clamp(t, 0.0, 1.0) * 255.0));
}

std::vector<std::uint8_t> windowTable(const GrayMapping& mapping, const Window& window) {
    std::vector<std::uint8_t> table(65536);
    for (std::size_t s = 0; s < table.size(); ++s)
        table[s] = windowedGray(mapping.toValue(static_cast<std::uint16_t>(s)), window);
    return table;
}

std::vector<std::uint8_t> windowGray16(const PixelBuffer& image, const GrayMapping& mapping,
                                       const Window& window) {
    std::vector<std::uint8_t> out(static_cast<std::size_t>(image.width) * image.height);
    for (int y = 0; y < image.height; ++y) {
        const auto* in = reinterpret_cast<const std::uint16_t*>(image.row(y));
        std::uint8_t* row = out.data() + static_cast<std::size_t>(y) * image.width;
        for (int x = 0; x < image.width; ++x) row[x] = windowedGray(mapping.toValue(in[x]), window);
    }
    return out;
}

}  // namespace lucida
