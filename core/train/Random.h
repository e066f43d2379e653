#pragma once

#include <cstdint>
#include <random>

namespace lucida {

// Draws from the raw generator output, so results are the same on every standard library (the std
// distributions are implementation-defined): shuffles, splits and augmentations stay reproducible
// from a seed.

// Uniform in [0, n), n > 0, without modulo bias.
inline std::uint64_t uniformBelow(std::mt19937_64& rng, std::uint64_t n) {
    const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    std::uint64_t x;
    do x = rng();
    while (x >= limit);
    return x % n;
}

// Uniform in [0, 1) with 53 random bits.
inline double uniform01(std::mt19937_64& rng) {
    return static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

}  // namespace lucida
