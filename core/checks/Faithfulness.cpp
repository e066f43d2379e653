#include "checks/Faithfulness.h"

#include "checks/RoadImputation.h"
#include "util/Random.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <memory>
#include <numeric>
#include <stdexcept>

namespace lucida {

Removal removalFromName(const std::string& name) {
    if (name == "blur") return Removal::Blur;
    if (name == "mean") return Removal::Mean;
    if (name == "road") return Removal::Road;
    throw std::invalid_argument("unknown removal '" + name + "' (known: blur, mean, road)");
}

std::string removalName(Removal removal) {
    switch (removal) {
        case Removal::Blur:
            return "blur";
        case Removal::Mean:
            return "mean";
        case Removal::Road:
            return "road";
    }
    return "blur";
}

FloatTensor removedImage(const FloatTensor& image, Removal removal, double blurSigma) {
    if (image.dims() != 3) throw std::invalid_argument("faithfulness: image must be [C, H, W]");
    if (removal == Removal::Road)
        throw std::invalid_argument("faithfulness: ROAD imputes per step, not one removed image");
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

// The image after `n` pixels of a curve's order have been replaced (n only grows).
using ImageAfter = std::function<const FloatTensor&(std::int64_t n)>;

// Blur or mean: starting from `from`, pixels of `to` are copied in `order`.
ImageAfter copiedPixels(const FloatTensor& from, const FloatTensor& to,
                        const std::vector<std::int64_t>& order) {
    auto current = std::make_shared<FloatTensor>(from);
    auto done = std::make_shared<std::int64_t>(0);
    return [&to, &order, current, done](std::int64_t n) -> const FloatTensor& {
        const auto c = to.size(0), hw = to.size(1) * to.size(2);
        for (; *done < n; ++*done) {
            const auto i = order[static_cast<std::size_t>(*done)];
            for (std::int64_t k = 0; k < c; ++k)
                current->data[static_cast<std::size_t>(k * hw + i)] =
                    to.data[static_cast<std::size_t>(k * hw + i)];
        }
        return *current;
    };
}

// ROAD: the first n pixels of `order` removed (deletion) or all but them (insertion), imputed
// afresh from the image; the noise is seeded per step.
ImageAfter imputedPixels(const FloatTensor& image, const std::vector<std::int64_t>& order,
                         bool deletion, const FaithfulnessOptions& options) {
    auto current = std::make_shared<FloatTensor>();
    auto step = std::make_shared<std::uint64_t>(0);
    return
        [&image, &order, deletion, &options, current, step](std::int64_t n) -> const FloatTensor& {
            std::vector<bool> removed(order.size(), !deletion);
            for (std::int64_t k = 0; k < n; ++k)
                removed[static_cast<std::size_t>(order[static_cast<std::size_t>(k)])] = deletion;
            RoadOptions road;
            road.noise = options.roadNoise;
            road.seed = options.seed * 1000003 + (*step)++;
            *current = noisyLinearImputation(image, removed, road);
            return *current;
        };
}

// One curve: the image after each step's share of `pixels`; probabilities at each step.
Curve runCurve(const ImageAfter& imageAfter, std::int64_t pixels, const ProbabilityOf& probability,
               int steps, int batch, CurveProgress& progress) {
    Curve curve;
    std::vector<FloatTensor> pending;
    auto flush = [&] {
        if (pending.empty()) return;
        const auto& first = pending.front();
        const auto c = first.size(0), h = first.size(1), w = first.size(2);
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
        curve.share.push_back(static_cast<double>(target) / static_cast<double>(pixels));
        pending.push_back(imageAfter(target));
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
    const auto order = pixelOrder(map);
    std::vector<std::int64_t> shuffled(order.size());
    std::iota(shuffled.begin(), shuffled.end(), 0);
    SeededRandom random(options.seed);
    for (std::size_t i = shuffled.size(); i > 1; --i)  // Fisher–Yates on Lucida's own draws
        std::swap(shuffled[i - 1], shuffled[uniformBelow(random.engine, i)]);
    const int b = std::max(1, batch);
    CurveProgress progress{options.progress, 0, 4 * (options.steps + 1)};
    const auto pixels = static_cast<std::int64_t>(order.size());
    const bool road = options.removal == Removal::Road;
    const FloatTensor removed =
        road ? FloatTensor{} : removedImage(image, options.removal, options.blurSigma);
    auto curve = [&](const std::vector<std::int64_t>& o, bool deletion) {
        const ImageAfter after = road       ? imputedPixels(image, o, deletion, options)
                                 : deletion ? copiedPixels(image, removed, o)
                                            : copiedPixels(removed, image, o);
        return runCurve(after, pixels, probability, options.steps, b, progress);
    };
    FaithfulnessResult r;
    r.deletion = curve(order, true);
    r.insertion = curve(order, false);
    r.randomDeletion = curve(shuffled, true);
    r.randomInsertion = curve(shuffled, false);
    return r;
}

}  // namespace lucida
