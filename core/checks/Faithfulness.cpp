#include "checks/Faithfulness.h"

#include "util/Random.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <numeric>
#include <stdexcept>

namespace lucida {

Removal removalFromName(const std::string& name) {
    if (name == "blur") return Removal::Blur;
    if (name == "mean") return Removal::Mean;
    throw std::invalid_argument("unknown removal '" + name + "' (known: blur, mean)");
}

std::string removalName(Removal removal) { return removal == Removal::Blur ? "blur" : "mean"; }

FloatTensor removedImage(const FloatTensor& image, Removal removal, double blurSigma) {
    if (image.dims() != 3) throw std::invalid_argument("faithfulness: image must be [C, H, W]");
    const auto c = image.size(0), h = image.size(1), w = image.size(2);
    FloatTensor out(image.shape);
    for (std::int64_t k = 0; k < c; ++k) {
        const float* src = image.data.data() + k * h * w;
        float* dst = out.data.data() + k * h * w;
        if (removal == Removal::Mean) {
            const double mean = std::accumulate(src, src + h * w, 0.0) / static_cast<double>(h * w);
            std::fill(dst, dst + h * w, static_cast<float>(mean));
        } else {
            const double sigma = blurSigma > 0 ? blurSigma : std::min(h, w) / 10.0;
            const cv::Mat in(static_cast<int>(h), static_cast<int>(w), CV_32F,
                             const_cast<float*>(src));
            cv::Mat blurred(static_cast<int>(h), static_cast<int>(w), CV_32F, dst);
            cv::GaussianBlur(in, blurred, cv::Size(0, 0), sigma, sigma, cv::BORDER_REFLECT_101);
        }
    }
    return out;
}

std::vector<std::int64_t> pixelOrder(const FloatTensor& map) {
    std::vector<std::int64_t> order(map.data.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
        return map.data[static_cast<std::size_t>(a)] > map.data[static_cast<std::size_t>(b)];
    });
    return order;
}

double trapezoidArea(const std::vector<double>& x, const std::vector<double>& y) {
    double area = 0;
    for (std::size_t i = 1; i < x.size() && i < y.size(); ++i)
        area += (x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2;
    return area;
}

namespace {

// Images run so far of all curves, for FaithfulnessOptions::progress.
struct CurveProgress {
    const std::function<bool(int, int)>& report;
    int done = 0, total = 0;
    void add(int images) {
        done += images;
        if (report && report(done, total)) throw std::runtime_error("faithfulness check cancelled");
    }
};

// One curve: start from `from`, copy pixels of `to` in `order`; probabilities at each step.
Curve runCurve(const FloatTensor& from, const FloatTensor& to,
               const std::vector<std::int64_t>& order, const ProbabilityOf& probability, int steps,
               int batch, CurveProgress& progress) {
    const auto c = from.size(0), h = from.size(1), w = from.size(2);
    const auto pixels = static_cast<std::int64_t>(order.size());
    Curve curve;
    FloatTensor current = from;
    std::int64_t done = 0;
    std::vector<FloatTensor> pending;
    auto flush = [&] {
        if (pending.empty()) return;
        FloatTensor stacked({static_cast<std::int64_t>(pending.size()), c, h, w});
        for (std::size_t i = 0; i < pending.size(); ++i)
            std::copy(pending[i].data.begin(), pending[i].data.end(),
                      stacked.data.begin() + static_cast<std::ptrdiff_t>(i * c * h * w));
        const auto p = probability(stacked);
        if (p.size() != pending.size())
            throw std::runtime_error("faithfulness: the model gave " + std::to_string(p.size()) +
                                     " probabilities for " + std::to_string(pending.size()) +
                                     " images");
        curve.probability.insert(curve.probability.end(), p.begin(), p.end());
        progress.add(static_cast<int>(pending.size()));
        pending.clear();
    };
    for (int step = 0; step <= steps; ++step) {
        const std::int64_t target = pixels * step / steps;
        for (; done < target; ++done) {
            const auto i = order[static_cast<std::size_t>(done)];
            for (std::int64_t k = 0; k < c; ++k)
                current.data[static_cast<std::size_t>(k * h * w + i)] =
                    to.data[static_cast<std::size_t>(k * h * w + i)];
        }
        curve.share.push_back(static_cast<double>(target) / static_cast<double>(pixels));
        pending.push_back(current);
        if (static_cast<int>(pending.size()) >= batch) flush();
    }
    flush();
    curve.auc = trapezoidArea(curve.share, curve.probability);
    return curve;
}

}  // namespace

FaithfulnessResult measureFaithfulness(const FloatTensor& image, const FloatTensor& map,
                                       const ProbabilityOf& probability,
                                       const FaithfulnessOptions& options, int batch) {
    if (image.dims() != 3 || map.dims() != 2 || map.size(0) != image.size(1) ||
        map.size(1) != image.size(2))
        throw std::invalid_argument(
            "faithfulness: the map must be [H, W] at the image's resolution [C, H, W]");
    if (options.steps < 1) throw std::invalid_argument("faithfulness: steps must be ≥ 1");
    const FloatTensor removed = removedImage(image, options.removal, options.blurSigma);
    const auto order = pixelOrder(map);
    std::vector<std::int64_t> shuffled(order.size());
    std::iota(shuffled.begin(), shuffled.end(), 0);
    SeededRandom random(options.seed);
    for (std::size_t i = shuffled.size(); i > 1; --i)  // Fisher–Yates on Lucida's own draws
        std::swap(shuffled[i - 1], shuffled[uniformBelow(random.engine, i)]);
    const int b = std::max(1, batch);
    CurveProgress progress{options.progress, 0, 4 * (options.steps + 1)};
    FaithfulnessResult r;
    r.deletion = runCurve(image, removed, order, probability, options.steps, b, progress);
    r.insertion = runCurve(removed, image, order, probability, options.steps, b, progress);
    r.randomDeletion = runCurve(image, removed, shuffled, probability, options.steps, b, progress);
    r.randomInsertion = runCurve(removed, image, shuffled, probability, options.steps, b, progress);
    return r;
}

}  // namespace lucida
