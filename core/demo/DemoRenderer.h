#pragma once
// The demo renderer: stroma, collagen fibres and nuclei as haematoxylin and eosin densities, turned
// into RGB through a stain lookup table. A pure function of global pixel coordinates and the seed.
// Internal to core/demo.
#include "demo/DemoNoise.h"
#include "demo/DemoScene.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace lucida::demo::detail {

// ---------------------------------------------------------------------------------------------
// Stains: optical density OD = background + H * h + E * e per channel, RGB = 255 exp(-OD).

constexpr float kMaxH = 3.0f;
constexpr float kMaxE = 1.6f;

class StainLut {
public:
    StainLut() {
        // Haematoxylin (blue-purple) and eosin (pink) absorption vectors, normalised; glass.
        const std::array<double, 3> h = normalised({0.62, 0.72, 0.32});
        const std::array<double, 3> e = normalised({0.10, 0.87, 0.47});
        const std::array<double, 3> glass = {0.045, 0.055, 0.040};
        rgb_.resize(256 * 256 * 3);
        for (int hi = 0; hi < 256; ++hi)
            for (int ei = 0; ei < 256; ++ei) {
                const double hv = hi * double(kMaxH) / 255.0;
                const double ev = ei * double(kMaxE) / 255.0;
                for (int c = 0; c < 3; ++c) {
                    const double od = glass[c] + hv * h[c] + ev * e[c];
                    const double v = std::round(255.0 * std::exp(-od));
                    rgb_[(static_cast<std::size_t>(hi) * 256 + ei) * 3 + c] =
                        static_cast<std::uint8_t>(std::clamp(v, 0.0, 255.0));
                }
            }
    }
    const std::uint8_t* lookup(float hv, float ev) const {
        const int hi =
            std::min(255, static_cast<int>(std::max(0.0f, hv) * (255.0f / kMaxH) + 0.5f));
        const int ei =
            std::min(255, static_cast<int>(std::max(0.0f, ev) * (255.0f / kMaxE) + 0.5f));
        return rgb_.data() + (static_cast<std::size_t>(hi) * 256 + ei) * 3;
    }

private:
    static std::array<double, 3> normalised(std::array<double, 3> v) {
        const double n = std::sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
        for (double& x : v) x /= n;
        return v;
    }
    std::vector<std::uint8_t> rgb_;
};

struct Nucleus {
    double cx = 0, cy = 0;
    double a = 4, b = 3;  // semi-axes, px
    double ca = 1, sa = 0;
    double h2c = 0, h2s = 0, h3c = 0, h3s = 0;  // outline harmonics 2 and 3
    float core = 1.0f;                          // haematoxylin density inside
    float rim = 0.3f;                           // extra density at the membrane
    float chromatin = 0.15f;                    // texture contrast
    std::int64_t texDx = 0, texDy = 0;
    bool nucleolus = false;
    double nx = 0, ny = 0, nr = 0;
    float nucleolusH = 0;
};

class Renderer {
public:
    static constexpr int kCell =
        16;  // nuclei cells; no nucleus reaches beyond its cell's neighbours
    static constexpr int kCandidates = 3;
    static constexpr int kGrid = 8;  // spacing of the smooth stroma fields

    explicit Renderer(std::uint64_t seed);

    void render(const Fields& fields, const Style& style, std::int64_t x0, std::int64_t y0, int w,
                int h, std::uint8_t* dst, std::size_t stride) const;

private:
    // Smooth fields on the kGrid lattice (global multiples of kGrid), bilinear per pixel.
    void smoothField(std::uint64_t salt, double scale, int octaves, std::int64_t x0,
                     std::int64_t y0, int w, int h, float* out) const;

    static std::int64_t floorDiv(std::int64_t a, std::int64_t b);

    // Glass: only a faint grain.
    void glass(std::int64_t x0, std::int64_t y0, int w, int h, float* H, float* E) const;

    void stroma(const Style& style, std::int64_t x0, std::int64_t y0, int w, int h, const float* t,
                const float* l, float* H, float* E) const;

    bool makeNucleus(const Fields& fields, const Style& style, std::int64_t cellX,
                     std::int64_t cellY, int k, Nucleus& nu) const;

    void nuclei(const Fields& fields, const Style& style, std::int64_t x0, std::int64_t y0, int w,
                int h, float* H, float* E) const;

    void paint(const Nucleus& nu, std::int64_t x0, std::int64_t y0, int w, int h, float* H,
               float* E) const;

    std::uint64_t seed_;
    Texture fine_;
    Texture coarse_;
    StainLut lut_;
    std::array<float, 1024> profile_{};
    std::array<float, 256> shade_{};
};

}  // namespace lucida::demo::detail
