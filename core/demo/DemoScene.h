#pragma once
// What a demo image shows, before it is rendered: the style of a patch or slide, and the tissue and
// lesion fields (irregular blobs; a slide's fields sampled on a grid). Internal to core/demo.
#include "demo/DemoData.h"
#include "demo/DemoNoise.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace lucida::demo::detail {

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

inline Style randomStyle(Random& r) {
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

inline Blob randomBlob(Random& r, double cx, double cy, double radius, double aspectMin,
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

}  // namespace lucida::demo::detail
