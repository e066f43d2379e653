#include "checks/RoadImputation.h"

#include "util/Random.h"

#include <cmath>
#include <stdexcept>

namespace lucida {

namespace {

constexpr double kEdge = 1.0 / 6, kDiagonal = 1.0 / 12;
constexpr int kDy[8] = {-1, 1, 0, 0, -1, -1, 1, 1};
constexpr int kDx[8] = {0, 0, -1, 1, -1, 1, -1, 1};
constexpr double kWeight[8] = {kEdge,     kEdge,     kEdge,     kEdge,
                               kDiagonal, kDiagonal, kDiagonal, kDiagonal};

// The system for the removed pixels: (A x)_i = d_i x_i − Σ_{removed j ~ i} w_ij x_j, with d_i the
// sum of i's neighbours' weights; b_i = Σ_{kept j ~ i} w_ij v_j. A is symmetric (w_ij = w_ji) and
// positive definite on every group of removed pixels that touches a kept one.
struct System {
    std::vector<std::int64_t> pixel;  // removed pixel of each unknown
    std::vector<double> diagonal;     // d_i
    std::vector<std::vector<std::pair<std::int64_t, double>>> removedNeighbours;  // (unknown, w)
    std::vector<std::vector<std::pair<std::int64_t, double>>> keptNeighbours;     // (pixel, w)
};

System buildSystem(std::int64_t h, std::int64_t w, const std::vector<bool>& removed) {
    System s;
    std::vector<std::int64_t> unknownOf(removed.size(), -1);
    for (std::int64_t i = 0; i < h * w; ++i)
        if (removed[static_cast<std::size_t>(i)]) {
            unknownOf[static_cast<std::size_t>(i)] = static_cast<std::int64_t>(s.pixel.size());
            s.pixel.push_back(i);
        }
    const std::size_t n = s.pixel.size();
    s.diagonal.assign(n, 0);
    s.removedNeighbours.resize(n);
    s.keptNeighbours.resize(n);
    for (std::size_t u = 0; u < n; ++u) {
        const std::int64_t y = s.pixel[u] / w, x = s.pixel[u] % w;
        for (int k = 0; k < 8; ++k) {
            const std::int64_t ny = y + kDy[k], nx = x + kDx[k];
            if (ny < 0 || ny >= h || nx < 0 || nx >= w) continue;
            const std::int64_t j = ny * w + nx;
            s.diagonal[u] += kWeight[k];
            if (const auto v = unknownOf[static_cast<std::size_t>(j)]; v >= 0)
                s.removedNeighbours[u].push_back({v, kWeight[k]});
            else
                s.keptNeighbours[u].push_back({j, kWeight[k]});
        }
    }
    return s;
}

// Jacobi-preconditioned conjugate gradients from x (the kept pixels' mean): groups of removed
// pixels with no kept neighbour have b = 0 and a zero residual, so they keep that start.
void solve(const System& s, const std::vector<double>& b, std::vector<double>& x,
           double tolerance) {
    const std::size_t n = x.size();
    auto multiply = [&](const std::vector<double>& v, std::vector<double>& out) {
        for (std::size_t u = 0; u < n; ++u) {
            double sum = s.diagonal[u] * v[u];
            for (const auto& [j, wt] : s.removedNeighbours[u])
                sum -= wt * v[static_cast<std::size_t>(j)];
            out[u] = sum;
        }
    };
    std::vector<double> r(n), z(n), p(n), q(n);
    multiply(x, q);
    double bNorm = 0, rz = 0;
    for (std::size_t u = 0; u < n; ++u) {
        r[u] = b[u] - q[u];
        z[u] = r[u] / s.diagonal[u];
        p[u] = z[u];
        rz += r[u] * z[u];
        bNorm += b[u] * b[u];
    }
    // b = 0: nothing kept touches a removed pixel; the start is the answer (A x0 only differs
    // from 0 by rounding, which the iterations would amplify along A's null space).
    if (bNorm == 0) return;
    const double stop = tolerance * tolerance * bNorm;
    for (std::size_t iteration = 0; iteration < 10 * n + 10; ++iteration) {
        double rr = 0;
        for (double v : r) rr += v * v;
        if (rr <= stop) break;
        multiply(p, q);
        double pq = 0;
        for (std::size_t u = 0; u < n; ++u) pq += p[u] * q[u];
        if (!(pq > 0)) break;
        const double alpha = rz / pq;
        double rzNext = 0;
        for (std::size_t u = 0; u < n; ++u) {
            x[u] += alpha * p[u];
            r[u] -= alpha * q[u];
            z[u] = r[u] / s.diagonal[u];
            rzNext += r[u] * z[u];
        }
        const double beta = rzNext / rz;
        rz = rzNext;
        for (std::size_t u = 0; u < n; ++u) p[u] = z[u] + beta * p[u];
    }
}

}  // namespace

FloatTensor noisyLinearImputation(const FloatTensor& image, const std::vector<bool>& removed,
                                  const RoadOptions& options) {
    if (image.dims() != 3) throw std::invalid_argument("ROAD: the image must be [C, H, W]");
    const auto c = image.size(0), h = image.size(1), w = image.size(2);
    if (static_cast<std::int64_t>(removed.size()) != h * w)
        throw std::invalid_argument("ROAD: the removal mask must have one flag per pixel");
    FloatTensor out = image;
    const System s = buildSystem(h, w, removed);
    if (s.pixel.empty()) return out;
    SeededRandom random(options.seed);
    for (std::int64_t k = 0; k < c; ++k) {
        const float* v = image.data.data() + k * h * w;
        double keptSum = 0;
        std::int64_t kept = 0;
        for (std::int64_t i = 0; i < h * w; ++i)
            if (!removed[static_cast<std::size_t>(i)]) keptSum += v[i], ++kept;
        double start = 0;
        if (kept > 0) {
            start = keptSum / static_cast<double>(kept);
        } else {
            for (std::int64_t i = 0; i < h * w; ++i) start += v[i];
            start /= static_cast<double>(h * w);
        }
        std::vector<double> b(s.pixel.size(), 0), x(s.pixel.size(), start);
        for (std::size_t u = 0; u < s.pixel.size(); ++u)
            for (const auto& [j, wt] : s.keptNeighbours[u]) b[u] += wt * v[j];
        solve(s, b, x, options.tolerance);
        float* o = out.data.data() + k * h * w;
        for (std::size_t u = 0; u < s.pixel.size(); ++u)
            o[s.pixel[u]] = static_cast<float>(x[u] + options.noise * random.normal());
    }
    return out;
}

}  // namespace lucida
