#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "image/PixelBuffer.h"

namespace lucida {

// One tile of one level of one slice of one opened image: the cache key everywhere (viewer,
// prefetcher, later the inference worker and exporter).
struct TileKey {
    std::uint64_t sourceId = 0;
    int level = 0;
    int slice = 0;
    std::int64_t col = 0;
    std::int64_t row = 0;
    int tileSize = 256;
    bool operator==(const TileKey&) const = default;
};

struct TileKeyHash {
    std::size_t operator()(const TileKey& k) const noexcept {
        std::size_t h = std::hash<std::uint64_t>{}(k.sourceId);
        auto mix = [&h](std::uint64_t v) {
            h ^= std::hash<std::uint64_t>{}(v) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
        };
        mix(static_cast<std::uint64_t>(k.level));
        mix(static_cast<std::uint64_t>(k.slice));
        mix(static_cast<std::uint64_t>(k.col));
        mix(static_cast<std::uint64_t>(k.row));
        mix(static_cast<std::uint64_t>(k.tileSize));
        return h;
    }
};

using TilePtr = std::shared_ptr<const PixelBuffer>;

}  // namespace lucida
