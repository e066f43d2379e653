#include "demo/DemoData.h"

#include "image/PyramidTiffWriter.h"

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>

#include <unistd.h>

namespace lucida::demo {

namespace fs = std::filesystem;

namespace {

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

// [0, 1) from the top 53 bits.
inline double unitInterval(std::uint64_t bits) {
    return static_cast<double>(bits >> 11) * (1.0 / 9007199254740992.0);
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
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * kPi * u2);
    }
};

// Layout stream: mt19937_64 with an explicit seed.
struct Random {
    std::mt19937_64 engine;
    explicit Random(std::uint64_t seed) : engine(seed) {}
    double uniform() { return unitInterval(engine()); }
    double uniform(double a, double b) { return a + (b - a) * uniform(); }
    int below(int n) { return std::min(n - 1, static_cast<int>(uniform() * n)); }
    double normal() {
        const double u1 = 1.0 - uniform();
        const double u2 = uniform();
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * kPi * u2);
    }
};

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
double valueNoise(std::uint64_t seed, double x, double y) {
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
double fbm(std::uint64_t seed, double x, double y, double scale, int octaves) {
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

// ---------------------------------------------------------------------------------------------
// Scene description.

// Per image (patch) or per slide: stain strength, fibre directions and density, so patches vary
// like slides from different labs do.
struct Style {
    double angle1 = 0.3;  // fibre families: direction of the phase gradient (radians)
    double angle2 = 1.2;
    double spacing = 9.0;  // fibre period, px
    float eosin = 1.0f;
    float haem = 1.0f;
    double density = 1.0;  // nuclei density factor
};

Style randomStyle(Random& r) {
    Style s;
    s.angle1 = r.uniform(0.0, kPi);
    s.angle2 = s.angle1 + r.uniform(0.5, 1.3);
    s.spacing = r.uniform(7.5, 11.0);
    s.eosin = static_cast<float>(r.uniform(0.85, 1.12));
    s.haem = static_cast<float>(r.uniform(0.9, 1.1));
    s.density = r.uniform(0.85, 1.2);
    return s;
}

// Where there is tissue and where the lesion is: both in [0, 1], 0.5 on the boundary. Functions of
// level-0 coordinates (pixel (x, y) is sampled at its centre, x + 0.5, y + 0.5).
class Fields {
public:
    virtual ~Fields() = default;
    virtual float tissue(double x, double y) const = 0;
    virtual float lesion(double x, double y) const = 0;
    // True when the region and `margin` pixels around it hold no tissue at all (then it is glass).
    virtual bool bare(std::int64_t, std::int64_t, int, int, int) const { return false; }
    // Both fields for every pixel of a region.
    virtual void region(std::int64_t x0, std::int64_t y0, int w, int h, float* t, float* l) const {
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x) {
                const double px = double(x0 + x) + 0.5;
                const double py = double(y0 + y) + 0.5;
                t[static_cast<std::size_t>(y) * w + x] = tissue(px, py);
                l[static_cast<std::size_t>(y) * w + x] = lesion(px, py);
            }
    }
};

// An irregular blob: a rotated ellipse whose radius varies with angle (harmonics 2..5), its
// domain warped by smooth noise. value() is 0.5 on the boundary, ramping over `edge` pixels.
struct Blob {
    double cx = 0, cy = 0;
    double rx = 1, ry = 1;
    double ca = 1, sa = 0;
    std::array<double, 4> hc{};  // harmonic k = 2..5: amplitude cos(phase), amplitude sin(phase)
    std::array<double, 4> hs{};
    std::uint64_t warpSeed = 0;
    double warpScale = 1;
    double warpAmp = 0;
    double edge = 1;
    double reachSquared = 0;  // beyond reach() from the centre, value() is 0

    double reach() const {
        double h = 0;
        for (int k = 0; k < 4; ++k) h += std::hypot(hc[k], hs[k]);
        return std::max(rx, ry) * (1.0 + h) + warpAmp + 2 * edge;
    }

    float value(double x, double y) const {
        if ((x - cx) * (x - cx) + (y - cy) * (y - cy) > reachSquared) return 0.0f;
        double wx = x, wy = y;
        if (warpAmp > 0) {
            wx += warpAmp * (2.0 * fbm(warpSeed, x, y, warpScale, 2) - 1.0);
            wy += warpAmp * (2.0 * fbm(warpSeed + 1, x, y, warpScale, 2) - 1.0);
        }
        const double dx = wx - cx;
        const double dy = wy - cy;
        const double nu = (dx * ca + dy * sa) / rx;
        const double nv = (-dx * sa + dy * ca) / ry;
        const double rr = std::sqrt(nu * nu + nv * nv);
        double radius = 1.0;
        if (rr > 1e-9) {
            const double c1 = nu / rr;
            const double s1 = nv / rr;
            double ck = c1, sk = s1;  // cos(k theta), sin(k theta) by repeated rotation
            for (int k = 0; k < 4; ++k) {
                const double c = ck * c1 - sk * s1;
                const double s = sk * c1 + ck * s1;
                ck = c;
                sk = s;
                radius += hc[k] * ck + hs[k] * sk;
            }
        }
        const double signedDistance = (radius - rr) * std::min(rx, ry);
        return static_cast<float>(std::clamp(0.5 + signedDistance / edge, 0.0, 1.0));
    }
};

Blob randomBlob(Random& r, double cx, double cy, double radius, double aspectMin,
                const std::array<double, 4>& harmonics, double warp, double edge) {
    Blob b;
    b.cx = cx;
    b.cy = cy;
    const double aspect = r.uniform(aspectMin, 1.0);
    b.rx = radius / std::sqrt(aspect);
    b.ry = radius * std::sqrt(aspect);
    const double angle = r.uniform(0.0, kPi);
    b.ca = std::cos(angle);
    b.sa = std::sin(angle);
    for (int k = 0; k < 4; ++k) {
        const double amplitude = harmonics[k] * r.uniform();
        const double phase = r.uniform(0.0, 2 * kPi);
        b.hc[k] = amplitude * std::cos(phase);
        b.hs[k] = amplitude * std::sin(phase);
    }
    b.warpSeed = r.engine();
    b.warpScale = radius * 0.6;
    b.warpAmp = radius * warp;
    b.edge = edge;
    b.reachSquared = b.reach() * b.reach();
    return b;
}

// A patch: tissue everywhere, at most one lesion blob.
class PatchFields : public Fields {
public:
    std::optional<Blob> blob;
    float tissue(double, double) const override { return 1.0f; }
    float lesion(double x, double y) const override { return blob ? blob->value(x, y) : 0.0f; }
    void region(std::int64_t x0, std::int64_t y0, int w, int h, float* t, float* l) const override {
        const std::size_t n = static_cast<std::size_t>(w) * h;
        if (!blob) {
            std::fill(t, t + n, 1.0f);
            std::fill(l, l + n, 0.0f);
            return;
        }
        if (cached_.size() != n || cachedX_ != x0 || cachedY_ != y0 || cachedW_ != w) {
            cached_.resize(n);
            std::vector<float> ones(n);
            Fields::region(x0, y0, w, h, ones.data(), cached_.data());
            cachedX_ = x0;
            cachedY_ = y0;
            cachedW_ = w;
        }
        std::fill(t, t + n, 1.0f);
        std::copy(cached_.begin(), cached_.end(), l);
    }
    void forget() { cached_.clear(); }

private:
    mutable std::vector<float> cached_;  // the lesion field of the last region
    mutable std::int64_t cachedX_ = 0, cachedY_ = 0;
    mutable int cachedW_ = 0;
};

// A slide: both fields sampled on a grid of nodes 16 px apart (node (i, j) at the centre of mask
// pixel (i, j)) and interpolated bilinearly.
class GridFields : public Fields {
public:
    static constexpr int kStep = kDemoMaskScale;
    int cols = 0;
    int rows = 0;
    std::vector<float> t;
    std::vector<float> l;

    float sample(const std::vector<float>& g, double x, double y) const {
        const double fx = x / kStep - 0.5;
        const double fy = y / kStep - 0.5;
        const double flx = std::floor(fx);
        const double fly = std::floor(fy);
        const double wx = fx - flx;
        const double wy = fy - fly;
        const auto ix = static_cast<std::int64_t>(flx);
        const auto iy = static_cast<std::int64_t>(fly);
        const auto cx = [&](std::int64_t i) { return std::clamp<std::int64_t>(i, 0, cols - 1); };
        const auto cy = [&](std::int64_t i) { return std::clamp<std::int64_t>(i, 0, rows - 1); };
        const auto at = [&](std::int64_t i, std::int64_t j) {
            return double(g[static_cast<std::size_t>(cy(j) * cols + cx(i))]);
        };
        const double top = at(ix, iy) + (at(ix + 1, iy) - at(ix, iy)) * wx;
        const double bottom = at(ix, iy + 1) + (at(ix + 1, iy + 1) - at(ix, iy + 1)) * wx;
        return static_cast<float>(top + (bottom - top) * wy);
    }
    float tissue(double x, double y) const override { return sample(t, x, y); }
    float lesion(double x, double y) const override { return sample(l, x, y); }

    // Separable: interpolate the node rows once per pixel row, then along the row (sample() at the
    // pixel centres, up to rounding).
    void region(std::int64_t x0, std::int64_t y0, int w, int h, float* tOut,
                float* lOut) const override {
        thread_local std::vector<int> i0s, i1s;
        thread_local std::vector<double> wxs;
        thread_local std::vector<double> tRow, lRow;
        i0s.resize(static_cast<std::size_t>(w));
        i1s.resize(static_cast<std::size_t>(w));
        wxs.resize(static_cast<std::size_t>(w));
        for (int x = 0; x < w; ++x) {
            const double fx = (double(x0 + x) + 0.5) / kStep - 0.5;
            const double flx = std::floor(fx);
            const auto ix = static_cast<std::int64_t>(flx);
            wxs[x] = fx - flx;
            i0s[x] = static_cast<int>(std::clamp<std::int64_t>(ix, 0, cols - 1));
            i1s[x] = static_cast<int>(std::clamp<std::int64_t>(ix + 1, 0, cols - 1));
        }
        tRow.resize(static_cast<std::size_t>(cols));
        lRow.resize(static_cast<std::size_t>(cols));
        const int iMin = i0s.front();
        const int iMax = i1s.back();
        for (int y = 0; y < h; ++y) {
            const double fy = (double(y0 + y) + 0.5) / kStep - 0.5;
            const double fly = std::floor(fy);
            const double wy = fy - fly;
            const auto iy = static_cast<std::int64_t>(fly);
            const std::size_t r0 =
                static_cast<std::size_t>(std::clamp<std::int64_t>(iy, 0, rows - 1)) * cols;
            const std::size_t r1 =
                static_cast<std::size_t>(std::clamp<std::int64_t>(iy + 1, 0, rows - 1)) * cols;
            for (int i = iMin; i <= iMax; ++i) {
                tRow[i] = double(t[r0 + i]);
                tRow[i] += (double(t[r1 + i]) - tRow[i]) * wy;
                lRow[i] = double(l[r0 + i]);
                lRow[i] += (double(l[r1 + i]) - lRow[i]) * wy;
            }
            float* to = tOut + static_cast<std::size_t>(y) * w;
            float* lo = lOut + static_cast<std::size_t>(y) * w;
            for (int x = 0; x < w; ++x) {
                const double ta = tRow[i0s[x]], tb = tRow[i1s[x]];
                const double la = lRow[i0s[x]], lb = lRow[i1s[x]];
                to[x] = static_cast<float>(ta + (tb - ta) * wxs[x]);
                lo[x] = static_cast<float>(la + (lb - la) * wxs[x]);
            }
        }
    }

    // No tissue anywhere near the region (nodes within `margin` pixels all zero)?
    bool bare(std::int64_t x0, std::int64_t y0, int w, int h, int margin) const override {
        const auto node = [](std::int64_t v) { return floorNode(v); };
        const std::int64_t i0 = std::max<std::int64_t>(0, node(x0 - margin) - 1);
        const std::int64_t j0 = std::max<std::int64_t>(0, node(y0 - margin) - 1);
        const std::int64_t i1 = std::min<std::int64_t>(cols - 1, node(x0 + w + margin) + 1);
        const std::int64_t j1 = std::min<std::int64_t>(rows - 1, node(y0 + h + margin) + 1);
        for (std::int64_t j = j0; j <= j1; ++j)
            for (std::int64_t i = i0; i <= i1; ++i)
                if (t[static_cast<std::size_t>(j * cols + i)] > 0.0f) return false;
        return true;
    }

private:
    static std::int64_t floorNode(std::int64_t v) {
        return v >= 0 ? v / kStep : -((-v + kStep - 1) / kStep);
    }
};

// ---------------------------------------------------------------------------------------------
// The renderer.

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

    explicit Renderer(std::uint64_t seed)
        : seed_(seed),
          fine_(mix64(seed ^ 0xF1E), 256, {2, 4, 8}),
          coarse_(mix64(seed ^ 0xC0A), 288, {8, 16, 32}) {
        for (int i = 0; i < 1024; ++i) {
            // Collagen bundles: mostly dense, with a narrow pale cleft once per period.
            const double c = 0.5 + 0.5 * std::cos(2 * kPi * (i + 0.5) / 1024.0);
            profile_[static_cast<std::size_t>(i)] = static_cast<float>(std::pow(c, 0.3));
        }
        Stream shades{mix64(seed ^ 0x5AADE)};
        for (float& v : shade_) v = static_cast<float>(shades.uniform(0.82, 1.12));  // per bundle
    }

    void render(const Fields& fields, const Style& style, std::int64_t x0, std::int64_t y0, int w,
                int h, std::uint8_t* dst, std::size_t stride) const {
        const std::size_t n = static_cast<std::size_t>(w) * h;
        thread_local std::vector<float> t, l, H, E;
        t.resize(n);
        l.resize(n);
        H.resize(n);
        E.resize(n);
        if (fields.bare(x0, y0, w, h, 2 * kCell)) {
            glass(x0, y0, w, h, H.data(), E.data());
        } else {
            fields.region(x0, y0, w, h, t.data(), l.data());
            stroma(style, x0, y0, w, h, t.data(), l.data(), H.data(), E.data());
            nuclei(fields, style, x0, y0, w, h, H.data(), E.data());
        }
        for (int y = 0; y < h; ++y) {
            std::uint8_t* out = dst + stride * static_cast<std::size_t>(y);
            const float* hr = H.data() + static_cast<std::size_t>(y) * w;
            const float* er = E.data() + static_cast<std::size_t>(y) * w;
            for (int x = 0; x < w; ++x) {
                const std::uint8_t* c = lut_.lookup(hr[x], er[x]);
                out[3 * x] = c[0];
                out[3 * x + 1] = c[1];
                out[3 * x + 2] = c[2];
            }
        }
    }

private:
    // Smooth fields on the kGrid lattice (global multiples of kGrid), bilinear per pixel.
    void smoothField(std::uint64_t salt, double scale, int octaves, std::int64_t x0,
                     std::int64_t y0, int w, int h, float* out) const {
        const std::int64_t gx0 = floorDiv(x0, kGrid);
        const std::int64_t gy0 = floorDiv(y0, kGrid);
        const std::int64_t gx1 = floorDiv(x0 + w - 1, kGrid) + 1;
        const std::int64_t gy1 = floorDiv(y0 + h - 1, kGrid) + 1;
        const int gw = static_cast<int>(gx1 - gx0 + 1);
        const int gh = static_cast<int>(gy1 - gy0 + 1);
        std::vector<float> grid(static_cast<std::size_t>(gw) * gh);
        for (int j = 0; j < gh; ++j)
            for (int i = 0; i < gw; ++i)
                grid[static_cast<std::size_t>(j) * gw + i] =
                    static_cast<float>(fbm(seed_ + salt, double((gx0 + i) * kGrid),
                                           double((gy0 + j) * kGrid), scale, octaves));
        std::vector<float> rowBuf(static_cast<std::size_t>(gw));
        for (int y = 0; y < h; ++y) {
            const std::int64_t gy = y0 + y;
            const std::int64_t j = floorDiv(gy, kGrid) - gy0;
            const float wy = float(gy - (gy0 + j) * kGrid) / kGrid;
            const float* r0 = grid.data() + static_cast<std::size_t>(j) * gw;
            const float* r1 = r0 + gw;
            for (int i = 0; i < gw; ++i) rowBuf[i] = r0[i] + (r1[i] - r0[i]) * wy;
            float* o = out + static_cast<std::size_t>(y) * w;
            for (int x = 0; x < w; ++x) {
                const std::int64_t gx = x0 + x;
                const std::int64_t i = floorDiv(gx, kGrid) - gx0;
                const float wx = float(gx - (gx0 + i) * kGrid) / kGrid;
                o[x] = rowBuf[i] + (rowBuf[i + 1] - rowBuf[i]) * wx;
            }
        }
    }

    static std::int64_t floorDiv(std::int64_t a, std::int64_t b) {
        return a >= 0 ? a / b : -((-a + b - 1) / b);
    }

    // Glass: only a faint grain.
    void glass(std::int64_t x0, std::int64_t y0, int w, int h, float* H, float* E) const {
        for (int y = 0; y < h; ++y) {
            const float* tex = fine_.row(y0 + y);
            for (int x = 0; x < w; ++x) {
                const std::size_t k = static_cast<std::size_t>(y) * w + x;
                H[k] = 0.0f;
                E[k] = 0.012f * tex[fine_.wrap(x0 + x)];
            }
        }
    }

    void stroma(const Style& style, std::int64_t x0, std::int64_t y0, int w, int h, const float* t,
                const float* l, float* H, float* E) const {
        const std::size_t n = static_cast<std::size_t>(w) * h;
        thread_local std::vector<float> warp1, warp2, warp3, blend, pale, gate;
        for (auto* v : {&warp1, &warp2, &warp3, &blend, &pale, &gate}) v->resize(n);
        smoothField(0x101, 160.0, 2, x0, y0, w, h, warp1.data());
        smoothField(0x202, 130.0, 2, x0, y0, w, h, warp2.data());
        smoothField(0x303, 48.0, 1, x0, y0, w, h, warp3.data());
        smoothField(0x404, 420.0, 2, x0, y0, w, h, blend.data());
        smoothField(0x505, 300.0, 2, x0, y0, w, h, pale.data());
        smoothField(0x606, 70.0, 1, x0, y0, w, h, gate.data());
        const double c1 = std::cos(style.angle1) / style.spacing;
        const double s1 = std::sin(style.angle1) / style.spacing;
        const double c2 = std::cos(style.angle2) / style.spacing;
        const double s2 = std::sin(style.angle2) / style.spacing;
        constexpr double kWarpPeriods = 14.0;   // large bends
        constexpr double kJitterPeriods = 2.0;  // uneven bundle widths
        const float eBase = 0.60f * style.eosin;
        const float hBase = style.haem;
        const auto band = [&](double p) {
            const double f = std::floor(p);
            const float shade =
                shade_[static_cast<std::size_t>(static_cast<std::int64_t>(f) & 255)];
            return std::pair<float, float>(
                profile_[static_cast<std::size_t>((p - f) * 1024.0) & 1023], shade);
        };
        for (int y = 0; y < h; ++y) {
            const std::int64_t gy = y0 + y;
            const float* fineRow = fine_.row(gy);
            const float* coarseRow = coarse_.row(gy);
            for (int x = 0; x < w; ++x) {
                const std::size_t k = static_cast<std::size_t>(y) * w + x;
                const std::int64_t gx = x0 + x;
                const float n1 = fineRow[fine_.wrap(gx)];
                const float n2 = coarseRow[coarse_.wrap(gx)];
                const float te = smoothstepf(0.35f, 0.65f, t[k] + 0.3f * (n2 - 0.5f));
                if (te <= 0.0f) {
                    H[k] = 0.0f;
                    E[k] = 0.012f * n1;
                    continue;
                }
                const double jitter = kJitterPeriods * warp3[k];
                const auto [f1, shade1] =
                    band(double(gx) * c1 + double(gy) * s1 + kWarpPeriods * warp1[k] + jitter);
                const auto [f2, shade2] =
                    band(double(gx) * c2 + double(gy) * s2 + kWarpPeriods * warp2[k] + jitter);
                const float b = smoothstepf(0.4f, 0.6f, blend[k]);
                const float fib = f1 + (f2 - f1) * b;
                const float shade = shade1 + (shade2 - shade1) * b;
                // Clefts between bundles open only in places; small empty spaces here and there.
                const float cleft =
                    (1.0f - fib) * smoothstepf(0.3f, 0.6f, gate[k]) * smoothstepf(0.15f, 0.45f, n2);
                const float paleness = 1.0f - 0.5f * smoothstepf(0.58f, 0.72f, pale[k]);
                float e = eBase * paleness * shade * (0.8f + 0.32f * (n1 - 0.5f)) *
                          (1.0f - 0.8f * cleft) * (1.0f - 0.6f * smoothstepf(0.94f, 0.995f, n2));
                float hv = (0.03f + 0.04f * n1) * hBase;
                // Lesion: crowded cells, less collagen, a purple tinge.
                const float q = l[k];
                if (q > 0.0f) {
                    e = e * (1.0f - 0.5f * q) + q * 0.5f * eBase * (0.62f + 0.3f * n1);
                    hv += q * 0.16f * (0.5f + n1) * hBase;
                }
                H[k] = hv * te;
                E[k] = e * te + 0.012f * n1 * (1.0f - te);
            }
        }
    }

    bool makeNucleus(const Fields& fields, const Style& style, std::int64_t cellX,
                     std::int64_t cellY, int k, Nucleus& nu) const {
        Stream s{hashKey(seed_ ^ 0x4E55C1E1ULL, cellX, cellY, static_cast<std::uint64_t>(k))};
        nu.cx = (double(cellX) + s.uniform()) * kCell;
        nu.cy = (double(cellY) + s.uniform()) * kCell;
        const double accept = s.uniform() * kCandidates;
        if (fields.tissue(nu.cx, nu.cy) < 0.55f) return false;
        const bool tumour = fields.lesion(nu.cx, nu.cy) >= 0.5f;
        double density;
        double lymphoShare = 0.3;
        if (tumour) {
            density = 0.62 * style.density;  // per 16 x 16 cell: ~4x the normal density
        } else {
            const double mod = fbm(seed_ + 0x505, nu.cx, nu.cy, 220.0, 2);
            const double aggregate =
                smoothstep(0.64, 0.78, fbm(seed_ + 0x606, nu.cx, nu.cy, 500.0, 2));
            density = 0.15 * style.density * (0.35 + 1.3 * mod) * (1.0 + 1.5 * aggregate);
            lymphoShare = 0.25 + 0.6 * aggregate;
        }
        if (accept >= density) return false;
        const double typeDraw = s.uniform();
        const float haem = style.haem;
        nu.texDx = static_cast<std::int64_t>(s.uniform() * 256);
        nu.texDy = static_cast<std::int64_t>(s.uniform() * 256);
        double angle = s.uniform(0.0, kPi);
        if (tumour) {  // enlarged, pleomorphic, hyperchromatic
            nu.a = s.uniform(6.5, 10.0);
            nu.b = nu.a * s.uniform(0.62, 0.95);
            const double a2 = s.uniform(0.04, 0.16), p2 = s.uniform(0.0, 2 * kPi);
            const double a3 = s.uniform(0.02, 0.10), p3 = s.uniform(0.0, 2 * kPi);
            nu.h2c = a2 * std::cos(p2);
            nu.h2s = a2 * std::sin(p2);
            nu.h3c = a3 * std::cos(p3);
            nu.h3s = a3 * std::sin(p3);
            nu.core = static_cast<float>(s.uniform(1.35, 1.95)) * haem;
            nu.rim = 0.35f;
            nu.chromatin = 0.38f;
            if (s.uniform() < 0.45) {
                nu.nucleolus = true;
                const double r = s.uniform(0.0, 0.35), phi = s.uniform(0.0, 2 * kPi);
                nu.nx = nu.cx + r * nu.a * std::cos(phi);
                nu.ny = nu.cy + r * nu.b * std::sin(phi);
                nu.nr = s.uniform(1.1, 1.7);
                nu.nucleolusH = 0.9f * haem;
            }
        } else if (typeDraw < lymphoShare) {  // lymphocyte: small, round, dark
            nu.a = s.uniform(3.0, 3.9);
            nu.b = nu.a * s.uniform(0.85, 1.0);
            nu.core = static_cast<float>(s.uniform(1.5, 1.8)) * haem;
            nu.rim = 0.12f;
            nu.chromatin = 0.10f;
        } else {  // fibroblast: spindle along the collagen
            nu.a = s.uniform(4.2, 6.0);
            nu.b = s.uniform(1.7, 2.5);
            const double family = s.uniform() < 0.5 ? style.angle1 : style.angle2;
            angle = family + kPi / 2 + 0.25 * s.normal();
            nu.core = static_cast<float>(s.uniform(1.0, 1.3)) * haem;
            nu.rim = 0.3f;
            nu.chromatin = 0.15f;
            const double a2 = s.uniform(0.0, 0.05), p2 = s.uniform(0.0, 2 * kPi);
            nu.h2c = a2 * std::cos(p2);
            nu.h2s = a2 * std::sin(p2);
        }
        nu.ca = std::cos(angle);
        nu.sa = std::sin(angle);
        return true;
    }

    void nuclei(const Fields& fields, const Style& style, std::int64_t x0, std::int64_t y0, int w,
                int h, float* H, float* E) const {
        // Cells whose nuclei can reach the region, in global raster order: every pixel sees the
        // same nuclei composited in the same order, whatever region it is rendered in.
        const std::int64_t cx0 = floorDiv(x0 - kCell, kCell);
        const std::int64_t cy0 = floorDiv(y0 - kCell, kCell);
        const std::int64_t cx1 = floorDiv(x0 + w - 1 + kCell, kCell);
        const std::int64_t cy1 = floorDiv(y0 + h - 1 + kCell, kCell);
        Nucleus nu;
        for (std::int64_t cy = cy0; cy <= cy1; ++cy)
            for (std::int64_t cx = cx0; cx <= cx1; ++cx)
                for (int k = 0; k < kCandidates; ++k) {
                    nu = Nucleus{};
                    if (makeNucleus(fields, style, cx, cy, k, nu)) paint(nu, x0, y0, w, h, H, E);
                }
    }

    void paint(const Nucleus& nu, std::int64_t x0, std::int64_t y0, int w, int h, float* H,
               float* E) const {
        const double harm = std::hypot(nu.h2c, nu.h2s) + std::hypot(nu.h3c, nu.h3s);
        const double reach = nu.a * (1.0 + harm) + 1.5;
        const std::int64_t px0 =
            std::max<std::int64_t>(x0, std::int64_t(std::floor(nu.cx - reach)));
        const std::int64_t py0 =
            std::max<std::int64_t>(y0, std::int64_t(std::floor(nu.cy - reach)));
        const std::int64_t px1 =
            std::min<std::int64_t>(x0 + w - 1, std::int64_t(std::ceil(nu.cx + reach)));
        const std::int64_t py1 =
            std::min<std::int64_t>(y0 + h - 1, std::int64_t(std::ceil(nu.cy + reach)));
        for (std::int64_t py = py0; py <= py1; ++py) {
            const float* tex = fine_.row(py + nu.texDy);
            const double dy = double(py) + 0.5 - nu.cy;
            for (std::int64_t px = px0; px <= px1; ++px) {
                const double dx = double(px) + 0.5 - nu.cx;
                const double u = (dx * nu.ca + dy * nu.sa) / nu.a;
                const double v = (-dx * nu.sa + dy * nu.ca) / nu.b;
                const double rr = std::sqrt(u * u + v * v);
                double radius = 1.0;
                if (rr > 1e-9) {
                    const double c = u / rr, s = v / rr;
                    const double c2 = c * c - s * s, s2 = 2 * c * s;
                    const double c3 = c * (4 * c * c - 3), s3 = s * (3 - 4 * s * s);
                    radius += nu.h2c * c2 + nu.h2s * s2 + nu.h3c * c3 + nu.h3s * s3;
                }
                const double d = rr / radius;  // 1 on the membrane
                const float alpha =
                    static_cast<float>(std::clamp((1.0 - d) * nu.b * 1.1 + 0.5, 0.0, 1.0));
                if (alpha <= 0.0f) continue;
                const float tx = tex[fine_.wrap(px + nu.texDx)];
                float hv = nu.core *
                           (1.0f + nu.rim * static_cast<float>(smoothstep(0.55, 1.0, d))) *
                           (1.0f - nu.chromatin + 2.0f * nu.chromatin * tx);
                if (nu.nucleolus) {
                    const double dn =
                        std::hypot(double(px) + 0.5 - nu.nx, double(py) + 0.5 - nu.ny);
                    hv +=
                        nu.nucleolusH * static_cast<float>(std::clamp(nu.nr + 0.5 - dn, 0.0, 1.0));
                }
                const std::size_t k = static_cast<std::size_t>(py - y0) * w + (px - x0);
                H[k] = H[k] + (hv - H[k]) * alpha;
                E[k] = E[k] * (1.0f - 0.7f * alpha);
            }
        }
    }

    std::uint64_t seed_;
    Texture fine_;
    Texture coarse_;
    StainLut lut_;
    std::array<float, 1024> profile_{};
    std::array<float, 256> shade_{};
};

// ---------------------------------------------------------------------------------------------
// Files.

void writeBytesAtomically(const std::string& path, const void* data, std::size_t size) {
    const std::string temporary = path + ".tmp-" + std::to_string(::getpid());
    {
        std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
        if (!out) throw std::runtime_error(path + ": cannot create " + temporary);
        out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
        out.flush();
        if (!out) {
            out.close();
            std::error_code ec;
            fs::remove(temporary, ec);
            throw std::runtime_error(path + ": cannot write (disk full?)");
        }
    }
    std::error_code ec;
    fs::rename(temporary, path, ec);
    if (ec) {
        fs::remove(temporary, ec);
        throw std::runtime_error(path + ": cannot rename the temporary file: " + ec.message());
    }
}

std::vector<std::uint8_t> encodePng(const cv::Mat& image, const std::string& forPath) {
    std::vector<std::uint8_t> png;
    try {
        if (!cv::imencode(".png", image, png)) throw std::runtime_error("encoder failed");
    } catch (const std::exception& e) {
        throw std::runtime_error(forPath + ": cannot encode PNG: " + e.what());
    }
    return png;
}

void writeRgbPng(const std::string& path, const std::uint8_t* rgb, int w, int h) {
    cv::Mat bgr;
    cv::cvtColor(cv::Mat(h, w, CV_8UC3, const_cast<std::uint8_t*>(rgb)), bgr, cv::COLOR_RGB2BGR);
    const auto png = encodePng(bgr, path);
    writeBytesAtomically(path, png.data(), png.size());
}

void writeGreyPng(const std::string& path, const std::uint8_t* grey, int w, int h) {
    const auto png = encodePng(cv::Mat(h, w, CV_8UC1, const_cast<std::uint8_t*>(grey)), path);
    writeBytesAtomically(path, png.data(), png.size());
}

void makeFolder(const fs::path& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw std::runtime_error(dir.string() + ": cannot create folder: " + ec.message());
}

// ---------------------------------------------------------------------------------------------
// Patches.

constexpr const char* kSplits[] = {"train", "val", "test"};
constexpr const char* kClasses[] = {"normal", "tumour"};

DemoPatch makePatch(const Renderer& renderer, std::uint64_t seed, int split, bool tumour, int index,
                    int size) {
    Random r(hashKey(seed ^ 0xDA7A5E7ULL, split * 2 + (tumour ? 1 : 0), index, 0x9A7C));
    const Style style = randomStyle(r);
    // Somewhere in an endless tissue: different texture and nuclei for every patch.
    const auto ox = static_cast<std::int64_t>(r.uniform(0.0, 4.0e6));
    const auto oy = static_cast<std::int64_t>(r.uniform(0.0, 4.0e6));
    PatchFields fields;
    DemoPatch patch;
    patch.size = size;
    const std::size_t n = static_cast<std::size_t>(size) * size;
    patch.mask.assign(n, 0);
    if (tumour) {
        std::vector<float> t(n), l(n);
        for (int attempt = 0;; ++attempt) {
            const double share = r.uniform(0.13, 0.30);
            const double radius = std::sqrt(share * size * size / kPi);
            const double cx = double(ox) + size * r.uniform(0.32, 0.68);
            const double cy = double(oy) + size * r.uniform(0.32, 0.68);
            fields.blob = randomBlob(r, cx, cy, radius, 0.6, {0.14, 0.10, 0.06, 0.04}, 0.12, 3.0);
            fields.forget();
            fields.region(ox, oy, size, size, t.data(), l.data());
            const auto inside = std::count_if(l.begin(), l.end(), [](float v) { return v > 0.5f; });
            const double got = double(inside) / double(n);
            if ((got >= 0.10 && got <= 0.35) || attempt >= 200) {
                for (std::size_t i = 0; i < n; ++i) patch.mask[i] = l[i] > 0.5f ? 255 : 0;
                break;
            }
        }
    }
    patch.rgb.resize(n * 3);
    renderer.render(fields, style, ox, oy, size, size, patch.rgb.data(),
                    static_cast<std::size_t>(size) * 3);
    return patch;
}

std::string patchName(const char* cls, int index, int count) {
    std::ostringstream s;
    const int digits = std::max(4, static_cast<int>(std::to_string(std::max(count - 1, 0)).size()));
    s << cls << "_";
    s.width(digits);
    s.fill('0');
    s << index << ".png";
    return s.str();
}

}  // namespace

// ---------------------------------------------------------------------------------------------

DemoPatch renderDemoPatch(std::uint64_t seed, int split, bool tumour, int index, int patchSize) {
    if (patchSize < 32 || patchSize > 1024)
        throw std::invalid_argument("patch size must be 32..1024");
    const Renderer renderer(seed);
    return makePatch(renderer, seed, split, tumour, index, patchSize);
}

DemoSetSummary writeDemoSet(const std::string& outDir, const DemoSetOptions& options) {
    if (options.patchSize < 32 || options.patchSize > 1024)
        throw std::invalid_argument("patch size must be 32..1024, not " +
                                    std::to_string(options.patchSize));
    const int counts[3] = {options.trainPerClass, options.valPerClass, options.testPerClass};
    for (int c : counts)
        if (c < 0 || c > 1000000)
            throw std::invalid_argument("patch counts must be 0..1000000, not " +
                                        std::to_string(c));
    const fs::path root(outDir);
    for (int split = 0; split < 3; ++split)
        for (const char* cls : kClasses) {
            makeFolder(root / kSplits[split] / cls);
            makeFolder(root / "masks" / kSplits[split] / cls);
        }
    const Renderer renderer(options.seed);
    const int total = 2 * (counts[0] + counts[1] + counts[2]);
    DemoSetSummary summary;
    double shareSum = 0;
    int tumourPatches = 0;
    for (int split = 0; split < 3; ++split)
        for (int c = 0; c < 2; ++c)
            for (int i = 0; i < counts[split]; ++i) {
                const DemoPatch p =
                    makePatch(renderer, options.seed, split, c == 1, i, options.patchSize);
                const std::string name = patchName(kClasses[c], i, counts[split]);
                writeRgbPng((root / kSplits[split] / kClasses[c] / name).string(), p.rgb.data(),
                            p.size, p.size);
                writeGreyPng((root / "masks" / kSplits[split] / kClasses[c] / name).string(),
                             p.mask.data(), p.size, p.size);
                if (c == 1) {
                    shareSum += double(std::count(p.mask.begin(), p.mask.end(), 255)) /
                                double(p.mask.size());
                    ++tumourPatches;
                }
                ++summary.patches;
                if (options.progress) options.progress(summary.patches, total);
            }
    summary.meanLesionShare = tumourPatches ? shareSum / tumourPatches : 0.0;

    std::ostringstream readme;
    readme
        << "Lucida synthetic H&E demo patch set\n"
        << "===================================\n\n"
        << "Generated by `lucida-cli make-demo` (core/demo/DemoData.cpp), seed " << options.seed
        << ". The same seed and options give byte-identical files.\n\n"
        << "Layout (PyTorch ImageFolder convention, classes sorted: normal = 0, tumour = 1):\n"
        << "  train/{normal,tumour}/  " << counts[0] << " patches per class\n"
        << "  val/{normal,tumour}/    " << counts[1] << " patches per class\n"
        << "  test/{normal,tumour}/   " << counts[2] << " patches per class\n"
        << "  masks/<split>/<class>/<same name>.png  lesion masks (255 inside the lesion; all "
           "zero for normal patches)\n\n"
        << "Patches are " << options.patchSize << " x " << options.patchSize
        << " RGB PNGs at 0.5 um/px (20x). Synthetic, not real tissue: pink eosin stroma with\n"
        << "wavy collagen fibres, pale clefts and lighter areas, scattered small nuclei (spindle\n"
        << "fibroblasts, round lymphocytes, occasional lymphoid aggregates). A tumour patch holds\n"
        << "one irregular lesion covering 10-35% of it (mean "
        << static_cast<int>(std::round(summary.meanLesionShare * 100))
        << "% here) where nuclei are 3-5x more crowded, 1.5-2.5x larger (13-20 px),\n"
        << "darker and pleomorphic (irregular outlines, coarse chromatin, nucleoli). Stain\n"
        << "strength, fibre direction and nuclear density vary from patch to patch.\n";
    const std::string text = readme.str();
    writeBytesAtomically((root / "README.txt").string(), text.data(), text.size());
    return summary;
}

// ---------------------------------------------------------------------------------------------
// Slide.

struct DemoSlide::Impl {
    DemoSlideOptions options;
    Renderer renderer;
    Style style;
    GridFields fields;
    std::vector<Blob> islands;
    std::vector<Blob> lesionBlobs;
    std::vector<DemoLesion> lesions;
    std::vector<std::uint8_t> mask;
    double tissueShare = 0;

    explicit Impl(const DemoSlideOptions& o) : options(o), renderer(o.seed) {}

    // Evaluates `blob` on the nodes it can reach, keeping the maximum in `grid`.
    void rasterise(const Blob& blob, std::vector<float>& grid) const {
        const int step = GridFields::kStep;
        const double reach = blob.reach();
        const int i0 = std::max(0, static_cast<int>(std::floor((blob.cx - reach) / step)));
        const int j0 = std::max(0, static_cast<int>(std::floor((blob.cy - reach) / step)));
        const int i1 =
            std::min(fields.cols - 1, static_cast<int>(std::ceil((blob.cx + reach) / step)));
        const int j1 =
            std::min(fields.rows - 1, static_cast<int>(std::ceil((blob.cy + reach) / step)));
        for (int j = j0; j <= j1; ++j)
            for (int i = i0; i <= i1; ++i) {
                float& g = grid[static_cast<std::size_t>(j) * fields.cols + i];
                g = std::max(g, blob.value((i + 0.5) * step, (j + 0.5) * step));
            }
    }

    void layout() {
        const double W = double(options.width);
        const double H = double(options.height);
        const double side = std::min(W, H);
        Random r(mix64(options.seed ^ 0x511DE5EEDULL));
        style = randomStyle(r);
        fields.cols = static_cast<int>((options.width + GridFields::kStep - 1) / GridFields::kStep);
        fields.rows =
            static_cast<int>((options.height + GridFields::kStep - 1) / GridFields::kStep);
        const std::size_t nodes = static_cast<std::size_t>(fields.cols) * fields.rows;
        fields.t.assign(nodes, 0.0f);
        fields.l.assign(nodes, 0.0f);

        // Tissue islands, well inside the glass.
        const int islandCount = 3 + r.below(2);
        const double margin = 0.04 * side;
        for (int attempt = 0; static_cast<int>(islands.size()) < islandCount && attempt < 5000;
             ++attempt) {
            const double shrink = attempt < 2500 ? 1.0 : 0.7;
            const double radius = shrink * side * r.uniform(0.16, 0.25);
            const double extent = radius * 1.45;
            if (W - 2 * (margin + extent) <= 0 || H - 2 * (margin + extent) <= 0) continue;
            const double cx = r.uniform(margin + extent, W - margin - extent);
            const double cy = r.uniform(margin + extent, H - margin - extent);
            bool apart = true;
            for (const Blob& b : islands)
                if (std::hypot(b.cx - cx, b.cy - cy) <
                    0.95 * (radius + std::sqrt(b.rx * b.ry)) + 0.03 * side)
                    apart = false;
            if (!apart) continue;
            islands.push_back(randomBlob(r, cx, cy, radius, 0.55, {0.16, 0.10, 0.06, 0.04}, 0.14,
                                         std::max(24.0, side / 500)));
        }
        for (const Blob& b : islands) rasterise(b, fields.t);

        // Lesions, wholly inside tissue and apart from each other.
        const double scale = std::min(1.0, side / 20480.0);
        const int lesionCount = 3 + r.below(3);
        for (int attempt = 0; static_cast<int>(lesionBlobs.size()) < lesionCount && attempt < 20000;
             ++attempt) {
            const double radius = scale * r.uniform(330.0, 820.0) * (attempt < 10000 ? 1.0 : 0.7);
            const double cx = r.uniform(0.0, W);
            const double cy = r.uniform(0.0, H);
            if (fields.tissue(cx, cy) < 0.95f) continue;
            bool inside = true;
            for (int k = 0; k < 24 && inside; ++k) {
                const double a = 2 * kPi * k / 24;
                const double rr = radius * 1.5 + 64 * scale;
                inside = fields.tissue(cx + rr * std::cos(a), cy + rr * std::sin(a)) >= 0.9f;
            }
            if (!inside) continue;
            for (const Blob& b : lesionBlobs)
                if (std::hypot(b.cx - cx, b.cy - cy) <
                    1.5 * (radius + std::sqrt(b.rx * b.ry)) + 400 * scale)
                    inside = false;
            if (!inside) continue;
            lesionBlobs.push_back(randomBlob(r, cx, cy, radius, 0.6, {0.14, 0.10, 0.06, 0.04}, 0.12,
                                             24.0 * scale + 8));
        }
        for (const Blob& b : lesionBlobs) rasterise(b, fields.l);

        mask.resize(nodes);
        std::size_t tissueNodes = 0;
        for (std::size_t i = 0; i < nodes; ++i) {
            mask[i] = fields.l[i] > 0.5f ? 255 : 0;
            tissueNodes += fields.t[i] > 0.5f ? 1 : 0;
        }
        tissueShare = double(tissueNodes) / double(nodes);

        // Bounding boxes from each lesion's own mask pixels.
        const int step = GridFields::kStep;
        for (std::size_t n = 0; n < lesionBlobs.size(); ++n) {
            std::vector<float> own;  // only this lesion, on its reach
            const Blob& b = lesionBlobs[n];
            const double reach = b.reach();
            const int i0 = std::max(0, static_cast<int>(std::floor((b.cx - reach) / step)));
            const int j0 = std::max(0, static_cast<int>(std::floor((b.cy - reach) / step)));
            const int i1 =
                std::min(fields.cols - 1, static_cast<int>(std::ceil((b.cx + reach) / step)));
            const int j1 =
                std::min(fields.rows - 1, static_cast<int>(std::ceil((b.cy + reach) / step)));
            int minI = fields.cols, minJ = fields.rows, maxI = -1, maxJ = -1;
            std::int64_t count = 0;
            for (int j = j0; j <= j1; ++j)
                for (int i = i0; i <= i1; ++i)
                    if (b.value((i + 0.5) * step, (j + 0.5) * step) > 0.5f) {
                        minI = std::min(minI, i);
                        maxI = std::max(maxI, i);
                        minJ = std::min(minJ, j);
                        maxJ = std::max(maxJ, j);
                        ++count;
                    }
            if (count == 0) continue;
            DemoLesion lesion;
            lesion.id = static_cast<int>(lesions.size()) + 1;
            lesion.x = std::int64_t(minI) * step;
            lesion.y = std::int64_t(minJ) * step;
            lesion.width =
                std::min<std::int64_t>(std::int64_t(maxI + 1) * step, options.width) - lesion.x;
            lesion.height =
                std::min<std::int64_t>(std::int64_t(maxJ + 1) * step, options.height) - lesion.y;
            lesion.areaPixels = count * step * step;
            lesions.push_back(lesion);
        }
    }
};

DemoSlide::DemoSlide(const DemoSlideOptions& options) {
    if (options.width < 1024 || options.height < 1024 || options.width > 200000 ||
        options.height > 200000)
        throw std::invalid_argument("demo slide size must be 1024..200000 pixels a side, not " +
                                    std::to_string(options.width) + " x " +
                                    std::to_string(options.height));
    if (!(options.micronsPerPixel > 0))
        throw std::invalid_argument("demo slide pixel size must be positive");
    impl_ = std::make_unique<Impl>(options);
    impl_->layout();
}

DemoSlide::~DemoSlide() = default;

std::int64_t DemoSlide::width() const { return impl_->options.width; }
std::int64_t DemoSlide::height() const { return impl_->options.height; }
const std::vector<DemoLesion>& DemoSlide::lesions() const { return impl_->lesions; }
double DemoSlide::tissueShare() const { return impl_->tissueShare; }
int DemoSlide::maskWidth() const { return impl_->fields.cols; }
int DemoSlide::maskHeight() const { return impl_->fields.rows; }
const std::vector<std::uint8_t>& DemoSlide::mask() const { return impl_->mask; }

void DemoSlide::render(std::int64_t x, std::int64_t y, int width, int height, std::uint8_t* dst,
                       std::size_t stride) const {
    impl_->renderer.render(impl_->fields, impl_->style, x, y, width, height, dst, stride);
}

DemoSlideResult writeDemoSlide(const std::string& path, const std::string& maskPath,
                               const DemoSlideOptions& options) {
    const DemoSlide slide(options);
    DemoSlideResult result;
    result.path = path;
    result.maskPath = maskPath;
    result.jsonPath = options.jsonPath.empty() ? fs::path(path).replace_extension(".json").string()
                                               : options.jsonPath;
    result.width = slide.width();
    result.height = slide.height();
    result.lesions = slide.lesions();

    PyramidTiffOptions tiff;
    tiff.tileSize = options.tileSize;
    tiff.compression = options.lossless ? PyramidCompression::Deflate : PyramidCompression::Jpeg;
    tiff.jpegQuality = options.jpegQuality;
    tiff.micronsPerPixel = options.micronsPerPixel;
    tiff.objectivePower = options.objectivePower;
    tiff.description = "Lucida synthetic H&E demo slide, seed " + std::to_string(options.seed);
    PyramidTiffWriter writer(path, slide.width(), slide.height(), PyramidSampleType::Rgb8, tiff);
    const int ts = writer.tileSize();
    const std::size_t stride = static_cast<std::size_t>(slide.width()) * 3;
    std::vector<std::uint8_t> band(stride * static_cast<std::size_t>(ts));
    for (std::int64_t y = 0; y < slide.height(); y += ts) {
        const int h = static_cast<int>(std::min<std::int64_t>(ts, slide.height() - y));
        for (std::int64_t x = 0; x < slide.width(); x += ts) {
            const int w = static_cast<int>(std::min<std::int64_t>(ts, slide.width() - x));
            slide.render(x, y, w, h, band.data() + static_cast<std::size_t>(x) * 3, stride);
        }
        writer.appendRows({band.data(), static_cast<int>(slide.width()), h, stride});
        if (options.progress) options.progress(double(y + h) / double(slide.height()));
    }
    writer.finish();

    writeGreyPng(maskPath, slide.mask().data(), slide.maskWidth(), slide.maskHeight());

    nlohmann::json j;
    j["generator"] = "Lucida demo slide (core/demo/DemoData.cpp)";
    j["seed"] = options.seed;
    j["slide"] = fs::path(path).filename().string();
    j["width"] = slide.width();
    j["height"] = slide.height();
    j["microns_per_pixel"] = options.micronsPerPixel;
    j["objective_power"] = options.objectivePower;
    j["tissue_share"] = slide.tissueShare();
    j["mask"] = {{"file", fs::path(maskPath).filename().string()},
                 {"scale", kDemoMaskScale},
                 {"width", slide.maskWidth()},
                 {"height", slide.maskHeight()}};
    nlohmann::json list = nlohmann::json::array();
    for (const DemoLesion& l : slide.lesions())
        list.push_back({{"id", l.id},
                        {"x", l.x},
                        {"y", l.y},
                        {"width", l.width},
                        {"height", l.height},
                        {"area_px", l.areaPixels}});
    j["lesions"] = list;
    j["lesion_units"] = "level-0 pixels; boxes bound the lesion mask";
    const std::string text = j.dump(2) + "\n";
    writeBytesAtomically(result.jsonPath, text.data(), text.size());
    return result;
}

}  // namespace lucida::demo
