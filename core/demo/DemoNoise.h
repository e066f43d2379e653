#pragma once
// The demo generator's randomness (seeded streams with our own uniform/normal transforms) and
// noise (value noise, fractal noise, seamless equalised textures). Internal to core/demo.
#include "util/Random.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace lucida::demo::detail {

constexpr double kPi = 3.14159265358979323846;

// ---------------------------------------------------------------------------------------------
// Randomness. Layout draws come from std::mt19937_64 (its output is fixed by the standard); per
// cell and per lattice point draws from SplitMix64-style hashes of (seed, coordinates). Uniform and
// normal transforms are ours: the standard distributions differ between library implementations.

constexpr std::uint64_t kGolden = 0x9E3779B97F4A7C15ULL;

inline std::uint64_t mix64(std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

inline std::uint64_t hashKey(std::uint64_t seed, std::int64_t a, std::int64_t b,
                             std::uint64_t salt) {
    std::uint64_t h = mix64(seed + kGolden * (salt + 1));
    h = mix64(h ^ (static_cast<std::uint64_t>(a) + kGolden));
    h = mix64(h ^ (static_cast<std::uint64_t>(b) * 0xD6E8FEB86659FD93ULL + 0x632BE59BD9B4E019ULL));
    return h;
}

// Per-cell stream (SplitMix64).
struct Stream {
    std::uint64_t state;
    std::uint64_t next() {
        state += kGolden;
        return mix64(state);
    }
    double uniform() { return unitInterval(next()); }
    double uniform(double a, double b) { return a + (b - a) * uniform(); }
    double normal() {
        const double u1 = 1.0 - uniform();  // (0, 1]
        const double u2 = uniform();
        return normalFromUniforms(u1, u2);
    }
};

// Layout stream: mt19937_64 with an explicit seed (util/Random, shared with training).
using Random = SeededRandom;

// ---------------------------------------------------------------------------------------------
// Noise.

inline double smoothstep(double e0, double e1, double x) {
    const double t = std::clamp((x - e0) / (e1 - e0), 0.0, 1.0);
    return t * t * (3.0 - 2.0 * t);
}
inline float smoothstepf(float e0, float e1, float x) {
    const float t = std::clamp((x - e0) / (e1 - e0), 0.0f, 1.0f);
    return t * t * (3.0f - 2.0f * t);
}

inline double lattice(std::uint64_t seed, std::int64_t ix, std::int64_t iy) {
    return unitInterval(hashKey(seed, ix, iy, 7));
}

// Value noise with unit lattice spacing, smooth interpolation; values in [0, 1).
inline double valueNoise(std::uint64_t seed, double x, double y) {
    const double fx = std::floor(x);
    const double fy = std::floor(y);
    const auto ix = static_cast<std::int64_t>(fx);
    const auto iy = static_cast<std::int64_t>(fy);
    double tx = x - fx;
    double ty = y - fy;
    tx = tx * tx * (3.0 - 2.0 * tx);
    ty = ty * ty * (3.0 - 2.0 * ty);
    const double a = lattice(seed, ix, iy);
    const double b = lattice(seed, ix + 1, iy);
    const double c = lattice(seed, ix, iy + 1);
    const double d = lattice(seed, ix + 1, iy + 1);
    const double top = a + (b - a) * tx;
    const double bottom = c + (d - c) * tx;
    return top + (bottom - top) * ty;
}

// Fractal value noise: octaves of period scale, scale/2, …; about [0, 1] with mean 0.5.
inline double fbm(std::uint64_t seed, double x, double y, double scale, int octaves) {
    double sum = 0;
    double norm = 0;
    double amplitude = 1;
    double f = 1.0 / scale;
    for (int o = 0; o < octaves; ++o) {
        sum += amplitude * valueNoise(seed + kGolden * static_cast<std::uint64_t>(o + 1),
                                      x * f + 0.37 * o, y * f + 0.61 * o);
        norm += amplitude;
        amplitude *= 0.5;
        f *= 2.0;
    }
    return sum / norm;
}

// A square texture that tiles seamlessly (periodic lattices), equalised to a uniform [0, 1]
// distribution so thresholds on it select known area fractions.
class Texture {
public:
    Texture(std::uint64_t seed, int size, const std::vector<int>& spacings) : size_(size) {
        std::vector<double> raw(static_cast<std::size_t>(size) * size, 0.0);
        double amplitude = 1.0;
        for (std::size_t o = 0; o < spacings.size(); ++o) {
            const int s = spacings[o];
            const int period = size / s;
            const std::uint64_t octaveSeed = seed + kGolden * (o + 1);
            for (int y = 0; y < size; ++y) {
                const int iy = y / s;
                double ty = double(y % s) / s;
                ty = ty * ty * (3 - 2 * ty);
                for (int x = 0; x < size; ++x) {
                    const int ix = x / s;
                    double tx = double(x % s) / s;
                    tx = tx * tx * (3 - 2 * tx);
                    const double a = lattice(octaveSeed, ix, iy);
                    const double b = lattice(octaveSeed, (ix + 1) % period, iy);
                    const double c = lattice(octaveSeed, ix, (iy + 1) % period);
                    const double d = lattice(octaveSeed, (ix + 1) % period, (iy + 1) % period);
                    const double top = a + (b - a) * tx;
                    const double bottom = c + (d - c) * tx;
                    raw[static_cast<std::size_t>(y) * size + x] +=
                        amplitude * (top + (bottom - top) * ty);
                }
            }
            amplitude *= 0.55;
        }
        std::vector<std::uint32_t> order(raw.size());
        std::iota(order.begin(), order.end(), 0u);
        std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
            return raw[a] < raw[b] || (raw[a] == raw[b] && a < b);
        });
        values_.resize(raw.size());
        const float scale = 1.0f / static_cast<float>(raw.size() - 1);
        for (std::size_t rank = 0; rank < order.size(); ++rank)
            values_[order[rank]] = static_cast<float>(rank) * scale;
    }
    int size() const { return size_; }
    int wrap(std::int64_t v) const {
        const std::int64_t m = v % size_;
        return static_cast<int>(m < 0 ? m + size_ : m);
    }
    const float* row(std::int64_t y) const {
        return values_.data() + static_cast<std::size_t>(wrap(y)) * size_;
    }
    float at(std::int64_t x, std::int64_t y) const { return row(y)[wrap(x)]; }

private:
    int size_;
    std::vector<float> values_;
};

}  // namespace lucida::demo::detail
