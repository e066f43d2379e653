#include "train/Augment.h"
#include "util/Random.h"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace lucida {

namespace {

// Random numbers from the raw generator output only, so a seed gives the same augmentations with
// any standard library (the std distributions are implementation-defined).
double uniform(std::mt19937_64& rng, double lo, double hi) {
    return lo + (hi - lo) * uniform01(rng);
}

int uniformBelow(std::mt19937_64& rng, int n) {
    return static_cast<int>(lucida::uniformBelow(rng, static_cast<std::uint64_t>(n)));
}

bool coin(std::mt19937_64& rng) { return (rng() >> 63) != 0; }

// torchvision's RandomResizedCrop.get_params: ten tries at a random area share and log-uniform
// aspect ratio, then the central crop clamped to the ratio range.
cv::Rect randomResizedCrop(int width, int height, double scaleMin, std::mt19937_64& rng) {
    const double area = double(width) * height;
    const double logLo = std::log(3.0 / 4.0), logHi = std::log(4.0 / 3.0);
    for (int attempt = 0; attempt < 10; ++attempt) {
        const double target = area * uniform(rng, scaleMin, 1.0);
        const double ratio = std::exp(uniform(rng, logLo, logHi));
        const int w = static_cast<int>(std::lround(std::sqrt(target * ratio)));
        const int h = static_cast<int>(std::lround(std::sqrt(target / ratio)));
        if (w > 0 && w <= width && h > 0 && h <= height) {
            const int y = uniformBelow(rng, height - h + 1);
            const int x = uniformBelow(rng, width - w + 1);
            return {x, y, w, h};
        }
    }
    const double inRatio = double(width) / height;
    int w = width, h = height;
    if (inRatio < 3.0 / 4.0)
        h = static_cast<int>(std::lround(w / (3.0 / 4.0)));
    else if (inRatio > 4.0 / 3.0)
        w = static_cast<int>(std::lround(h * (4.0 / 3.0)));
    w = std::clamp(w, 1, width);
    h = std::clamp(h, 1, height);
    return {(width - w) / 2, (height - h) / 2, w, h};
}

// Colour jitter on interleaved RGB floats in [0, 1], as torchvision's functional ops on tensors.
float grey(const float* p) { return 0.2989f * p[0] + 0.587f * p[1] + 0.114f * p[2]; }

void adjustBrightness(float* px, std::size_t n, float f) {
    for (std::size_t i = 0; i < 3 * n; ++i) px[i] = std::clamp(px[i] * f, 0.0f, 1.0f);
}

void adjustContrast(float* px, std::size_t n, float f) {
    double sum = 0;
    for (std::size_t i = 0; i < n; ++i) sum += grey(px + 3 * i);
    const float mean = n ? static_cast<float>(sum / double(n)) : 0.0f;
    for (std::size_t i = 0; i < 3 * n; ++i)
        px[i] = std::clamp(f * px[i] + (1 - f) * mean, 0.0f, 1.0f);
}

void adjustSaturation(float* px, std::size_t n, float f) {
    for (std::size_t i = 0; i < n; ++i) {
        float* p = px + 3 * i;
        const float g = grey(p);
        for (int c = 0; c < 3; ++c) p[c] = std::clamp(f * p[c] + (1 - f) * g, 0.0f, 1.0f);
    }
}

// torchvision's _rgb2hsv / _hsv2rgb, with the hue rotated in between.
void adjustHue(float* px, std::size_t n, float shift) {
    for (std::size_t i = 0; i < n; ++i) {
        float* p = px + 3 * i;
        const float r = p[0], g = p[1], b = p[2];
        const float maxc = std::max({r, g, b}), minc = std::min({r, g, b});
        if (maxc == minc) continue;  // grey: no hue to rotate
        const float cr = maxc - minc;
        const float s = cr / maxc, v = maxc;
        const float rc = (maxc - r) / cr, gc = (maxc - g) / cr, bc = (maxc - b) / cr;
        float h;
        if (maxc == r)
            h = bc - gc;
        else if (maxc == g)
            h = 2.0f + rc - bc;
        else
            h = 4.0f + gc - rc;
        h = std::fmod(h / 6.0f + 1.0f, 1.0f);
        h = std::fmod(h + shift + 1.0f, 1.0f);
        const float h6 = h * 6.0f, fi = std::floor(h6), f = h6 - fi;
        const int sector = static_cast<int>(fi) % 6;
        const float pp = std::clamp(v * (1 - s), 0.0f, 1.0f);
        const float q = std::clamp(v * (1 - s * f), 0.0f, 1.0f);
        const float t = std::clamp(v * (1 - s * (1 - f)), 0.0f, 1.0f);
        static constexpr int pick[6][3] = {{0, 3, 1}, {2, 0, 1}, {1, 0, 3},
                                           {1, 2, 0}, {3, 1, 0}, {0, 1, 2}};
        const float values[4] = {v, pp, q, t};
        for (int c = 0; c < 3; ++c) p[c] = values[pick[sector][c]];
    }
}

void colourJitter(cv::Mat& rgb, const AugmentOptions& o, std::mt19937_64& rng) {
    // torchvision draws the op order, then each enabled factor.
    int order[4] = {0, 1, 2, 3};
    for (int i = 3; i > 0; --i) std::swap(order[i], order[uniformBelow(rng, i + 1)]);
    const auto range = [&](double amount) {
        return uniform(rng, std::max(0.0, 1.0 - amount), 1.0 + amount);
    };
    const double brightness = o.brightness > 0 ? range(o.brightness) : 1.0;
    const double contrast = o.contrast > 0 ? range(o.contrast) : 1.0;
    const double saturation = o.saturation > 0 ? range(o.saturation) : 1.0;
    const double hueMax = std::min(o.hue, 0.5);
    const double hue = o.hue > 0 ? uniform(rng, -hueMax, hueMax) : 0.0;

    cv::Mat f;
    rgb.convertTo(f, CV_32FC3, 1.0 / 255.0);
    float* px = f.ptr<float>();
    const std::size_t n = f.total();
    for (int op : order) {
        if (op == 0 && o.brightness > 0) adjustBrightness(px, n, float(brightness));
        if (op == 1 && o.contrast > 0) adjustContrast(px, n, float(contrast));
        if (op == 2 && o.saturation > 0) adjustSaturation(px, n, float(saturation));
        if (op == 3 && o.hue > 0) adjustHue(px, n, float(hue));
    }
    f.convertTo(rgb, CV_8UC3, 255.0);  // rounds and saturates
}

using Matrix3 = std::array<std::array<double, 3>, 3>;

// Ruifrok & Johnston's stain vectors (rows: haematoxylin, eosin, DAB) in optical density RGB,
// as scikit-image's rgb_from_hed.
constexpr Matrix3 kRgbFromHed = {{{0.65, 0.70, 0.29}, {0.07, 0.99, 0.11}, {0.27, 0.57, 0.78}}};

Matrix3 inverse(const Matrix3& m) {
    const double det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
                       m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
                       m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    Matrix3 r;
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) {
            // Cofactor of m[j][i] (transposed for the adjugate).
            const int r0 = (j + 1) % 3, r1 = (j + 2) % 3, c0 = (i + 1) % 3, c1 = (i + 2) % 3;
            r[i][j] = (m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0]) / det;
        }
    return r;
}

// scikit-image's optical density: log(max(I, 1e-6)) / log(1e-6), so 0 (white) .. 1 (black).
const double kLogAdjust = std::log(1e-6);

}  // namespace

cv::Mat resizeForTraining(const cv::Mat& image, int width, int height) {
    if (width <= 0 || height <= 0) throw std::invalid_argument("resize to an empty size");
    if (image.cols == width && image.rows == height) return image.clone();
    cv::Mat out;
    const bool shrinking = width <= image.cols && height <= image.rows;
    cv::resize(image, out, cv::Size(width, height), 0, 0,
               shrinking ? cv::INTER_AREA : cv::INTER_LINEAR);
    return out;
}

void jitterHedStains(cv::Mat& rgb, const std::array<double, 3>& scale,
                     const std::array<double, 3>& shift) {
    if (rgb.type() != CV_8UC3) throw std::invalid_argument("stain jitter needs an 8-bit RGB image");
    static const Matrix3 hedFromRgb = inverse(kRgbFromHed);
    // Unmix, scale and shift, remix folded into one affine map of the RGB optical densities:
    // od' = od * (Minv diag(scale) M) + shift * M.
    float t[3][3], offset[3];
    for (int j = 0; j < 3; ++j) {
        offset[j] = 0;
        for (int k = 0; k < 3; ++k) offset[j] += float(shift[k] * kRgbFromHed[k][j]);
        for (int i = 0; i < 3; ++i) {
            double sum = 0;
            for (int k = 0; k < 3; ++k) sum += hedFromRgb[i][k] * scale[k] * kRgbFromHed[k][j];
            t[i][j] = float(sum);
        }
    }
    static const std::array<float, 256> od = [] {
        std::array<float, 256> lut;
        for (int v = 0; v < 256; ++v)
            lut[v] = float(std::log(std::max(v / 255.0, 1e-6)) / kLogAdjust);
        return lut;
    }();
    const float logAdjust = float(kLogAdjust);
    for (int y = 0; y < rgb.rows; ++y) {
        auto* p = rgb.ptr<std::uint8_t>(y);
        for (int x = 0; x < rgb.cols; ++x, p += 3) {
            const float in[3] = {od[p[0]], od[p[1]], od[p[2]]};
            for (int j = 0; j < 3; ++j) {
                const float d = in[0] * t[0][j] + in[1] * t[1][j] + in[2] * t[2][j] + offset[j];
                const float intensity = std::clamp(std::exp(d * logAdjust), 0.0f, 1.0f);
                p[j] = static_cast<std::uint8_t>(std::lround(intensity * 255.0f));
            }
        }
    }
}

cv::Mat augmentImage(const cv::Mat& rgb, const AugmentOptions& o, int outWidth, int outHeight,
                     std::mt19937_64& rng) {
    if (rgb.type() != CV_8UC3 || rgb.empty())
        throw std::invalid_argument("augmentation needs a non-empty 8-bit RGB image");
    if (outWidth <= 0 || outHeight <= 0)
        throw std::invalid_argument("augmentation output size must be positive");

    cv::Rect crop(0, 0, rgb.cols, rgb.rows);
    if (o.cropScaleMin < 1.0)
        crop = randomResizedCrop(rgb.cols, rgb.rows, std::clamp(o.cropScaleMin, 1e-6, 1.0), rng);
    const bool hflip = o.horizontalFlip && coin(rng);
    const bool vflip = o.verticalFlip && coin(rng);
    const int quarterTurns = o.rotate90 ? uniformBelow(rng, 4) : 0;

    // Resize before the geometric ops (they commute with it) so that they touch the small image;
    // a quarter turn swaps the sides, so resize to the swapped size first.
    const bool swapped = quarterTurns % 2 == 1;
    cv::Mat out = resizeForTraining(rgb(crop), swapped ? outHeight : outWidth,
                                    swapped ? outWidth : outHeight);
    if (hflip && vflip)
        cv::flip(out, out, -1);
    else if (hflip)
        cv::flip(out, out, 1);
    else if (vflip)
        cv::flip(out, out, 0);
    if (quarterTurns == 1) cv::rotate(out, out, cv::ROTATE_90_CLOCKWISE);
    if (quarterTurns == 2) cv::rotate(out, out, cv::ROTATE_180);
    if (quarterTurns == 3) cv::rotate(out, out, cv::ROTATE_90_COUNTERCLOCKWISE);

    if (o.brightness > 0 || o.contrast > 0 || o.saturation > 0 || o.hue > 0)
        colourJitter(out, o, rng);
    if (o.heSigma > 0 || o.heBias > 0) {
        std::array<double, 3> scale, shift;
        for (int k = 0; k < 3; ++k) {
            scale[k] = uniform(rng, 1.0 - o.heSigma, 1.0 + o.heSigma);
            shift[k] = uniform(rng, -o.heBias, o.heBias);
        }
        jitterHedStains(out, scale, shift);
    }
    return out;
}

}  // namespace lucida
