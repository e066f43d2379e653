#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>

namespace lucida {

// Lucida's seeded randomness (training shuffles, splits and augmentations; the demo generator).
// Draws come from the raw generator output through our own transforms, so results are the same on
// every standard library (std::mt19937_64's output is fixed by the standard, the std
// distributions are implementation-defined) and reproducible from a seed.

// [0, 1) from the top 53 bits of a random word.
inline double unitInterval(std::uint64_t bits) {
    return static_cast<double>(bits >> 11) * 0x1.0p-53;
}

// Uniform in [0, 1) with 53 random bits.
inline double uniform01(std::mt19937_64& rng) { return unitInterval(rng()); }

// Uniform in [0, n), n > 0, without modulo bias.
inline std::uint64_t uniformBelow(std::mt19937_64& rng, std::uint64_t n) {
    const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    std::uint64_t x;
    do x = rng();
    while (x >= limit);
    return x % n;
}

// A standard normal draw from two uniforms, u1 in (0, 1] and u2 in [0, 1) (Box–Muller).
inline double normalFromUniforms(double u1, double u2) {
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * 3.14159265358979323846 * u2);
}

// A seeded stream of draws on std::mt19937_64.
struct SeededRandom {
    std::mt19937_64 engine;
    explicit SeededRandom(std::uint64_t seed) : engine(seed) {}
    double uniform() { return uniform01(engine); }
    double uniform(double a, double b) { return a + (b - a) * uniform(); }
    // [0, n) by scaling one uniform draw (the demo's layouts depend on this exact rule).
    int below(int n) { return std::min(n - 1, static_cast<int>(uniform() * n)); }
    double normal() {
        const double u1 = 1.0 - uniform();
        const double u2 = uniform();
        return normalFromUniforms(u1, u2);
    }
};

}  // namespace lucida
