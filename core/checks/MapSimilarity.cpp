#include "checks/MapSimilarity.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace lucida {

namespace {

void requireSameShape(const FloatTensor& a, const FloatTensor& b) {
    if (a.shape != b.shape || a.data.empty())
        throw std::invalid_argument("map similarity: the maps differ in shape or are empty");
}

// Ranks 1..n, ties sharing their mean rank.
std::vector<double> ranks(const std::vector<float>& v) {
    std::vector<std::size_t> order(v.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](auto i, auto j) { return v[i] < v[j]; });
    std::vector<double> r(v.size());
    for (std::size_t i = 0; i < order.size();) {
        std::size_t j = i;
        while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]]) ++j;
        const double mean = (static_cast<double>(i) + static_cast<double>(j)) / 2 + 1;
        for (std::size_t k = i; k <= j; ++k) r[order[k]] = mean;
        i = j + 1;
    }
    return r;
}

double pearson(const std::vector<double>& x, const std::vector<double>& y) {
    const double n = static_cast<double>(x.size());
    const double mx = std::accumulate(x.begin(), x.end(), 0.0) / n;
    const double my = std::accumulate(y.begin(), y.end(), 0.0) / n;
    double sxy = 0, sxx = 0, syy = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        sxy += (x[i] - mx) * (y[i] - my);
        sxx += (x[i] - mx) * (x[i] - mx);
        syy += (y[i] - my) * (y[i] - my);
    }
    return sxx > 0 && syy > 0 ? sxy / std::sqrt(sxx * syy) : 0.0;
}

std::vector<double> scaledToUnit(const FloatTensor& m) {
    const auto [lo, hi] = std::minmax_element(m.data.begin(), m.data.end());
    const double range = static_cast<double>(*hi) - *lo;
    std::vector<double> out(m.data.size(), 0.0);
    if (range > 0)
        for (std::size_t i = 0; i < out.size(); ++i) out[i] = (m.data[i] - *lo) / range;
    return out;
}

}  // namespace

double spearmanCorrelation(const FloatTensor& a, const FloatTensor& b) {
    requireSameShape(a, b);
    return pearson(ranks(a.data), ranks(b.data));
}

double structuralSimilarity(const FloatTensor& a, const FloatTensor& b) {
    requireSameShape(a, b);
    if (a.dims() != 2) throw std::invalid_argument("structural similarity: maps must be [H, W]");
    const auto h = a.size(0), w = a.size(1);
    const auto x = scaledToUnit(a), y = scaledToUnit(b);
    const std::int64_t wh = std::min<std::int64_t>(7, h), ww = std::min<std::int64_t>(7, w);
    const double n = static_cast<double>(wh * ww);
    const double c1 = 0.01 * 0.01, c2 = 0.03 * 0.03;
    double total = 0;
    std::int64_t windows = 0;
    for (std::int64_t top = 0; top + wh <= h; ++top)
        for (std::int64_t left = 0; left + ww <= w; ++left) {
            double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
            for (std::int64_t r = top; r < top + wh; ++r)
                for (std::int64_t c = left; c < left + ww; ++c) {
                    const double u = x[static_cast<std::size_t>(r * w + c)];
                    const double v = y[static_cast<std::size_t>(r * w + c)];
                    sx += u, sy += v, sxx += u * u, syy += v * v, sxy += u * v;
                }
            const double mx = sx / n, my = sy / n;
            const double unbiased = n > 1 ? n / (n - 1) : 1.0;  // sample (co)variances
            const double vx = (sxx / n - mx * mx) * unbiased, vy = (syy / n - my * my) * unbiased;
            const double cxy = (sxy / n - mx * my) * unbiased;
            total +=
                ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
            ++windows;
        }
    return total / static_cast<double>(windows);
}

}  // namespace lucida
