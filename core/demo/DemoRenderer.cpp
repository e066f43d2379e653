#include "demo/DemoRenderer.h"

#include <algorithm>
#include <cmath>

namespace lucida::demo::detail {

Renderer::Renderer(std::uint64_t seed)
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

void Renderer::render(const Fields& fields, const Style& style, std::int64_t x0, std::int64_t y0,
                      int w, int h, std::uint8_t* dst, std::size_t stride) const {
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

void Renderer::smoothField(std::uint64_t salt, double scale, int octaves, std::int64_t x0,
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

std::int64_t Renderer::floorDiv(std::int64_t a, std::int64_t b) {
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

void Renderer::glass(std::int64_t x0, std::int64_t y0, int w, int h, float* H, float* E) const {
    for (int y = 0; y < h; ++y) {
        const float* tex = fine_.row(y0 + y);
        for (int x = 0; x < w; ++x) {
            const std::size_t k = static_cast<std::size_t>(y) * w + x;
            H[k] = 0.0f;
            E[k] = 0.012f * tex[fine_.wrap(x0 + x)];
        }
    }
}

void Renderer::stroma(const Style& style, std::int64_t x0, std::int64_t y0, int w, int h,
                      const float* t, const float* l, float* H, float* E) const {
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
        const float shade = shade_[static_cast<std::size_t>(static_cast<std::int64_t>(f) & 255)];
        return std::pair<float, float>(profile_[static_cast<std::size_t>((p - f) * 1024.0) & 1023],
                                       shade);
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

bool Renderer::makeNucleus(const Fields& fields, const Style& style, std::int64_t cellX,
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
        const double aggregate = smoothstep(0.64, 0.78, fbm(seed_ + 0x606, nu.cx, nu.cy, 500.0, 2));
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

void Renderer::nuclei(const Fields& fields, const Style& style, std::int64_t x0, std::int64_t y0,
                      int w, int h, float* H, float* E) const {
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

void Renderer::paint(const Nucleus& nu, std::int64_t x0, std::int64_t y0, int w, int h, float* H,
                     float* E) const {
    const double harm = std::hypot(nu.h2c, nu.h2s) + std::hypot(nu.h3c, nu.h3s);
    const double reach = nu.a * (1.0 + harm) + 1.5;
    const std::int64_t px0 = std::max<std::int64_t>(x0, std::int64_t(std::floor(nu.cx - reach)));
    const std::int64_t py0 = std::max<std::int64_t>(y0, std::int64_t(std::floor(nu.cy - reach)));
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
            float hv = nu.core * (1.0f + nu.rim * static_cast<float>(smoothstep(0.55, 1.0, d))) *
                       (1.0f - nu.chromatin + 2.0f * nu.chromatin * tx);
            if (nu.nucleolus) {
                const double dn = std::hypot(double(px) + 0.5 - nu.nx, double(py) + 0.5 - nu.ny);
                hv += nu.nucleolusH * static_cast<float>(std::clamp(nu.nr + 0.5 - dn, 0.0, 1.0));
            }
            const std::size_t k = static_cast<std::size_t>(py - y0) * w + (px - x0);
            H[k] = H[k] + (hv - H[k]) * alpha;
            E[k] = E[k] * (1.0f - 0.7f * alpha);
        }
    }
}

}  // namespace lucida::demo::detail
