#include "analysis/TissueMask.h"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

namespace lucida {

namespace {

// The level to read: the coarsest whose longer side still reaches maxSide (so the thumbnail is a
// reduction, never an enlargement), else the coarsest there is.
int thumbnailLevel(const ImageInfo& info, int maxSide) {
    int chosen = static_cast<int>(info.levels.size()) - 1;
    for (int i = chosen; i >= 0; --i) {
        const Level& lv = info.level(i);
        if (std::max(lv.width, lv.height) >= maxSide) return i;
    }
    return chosen;
}

// Reads the whole of `level` in tiles (a level can be far larger than memory wants in one piece)
// and box-averages it into tw x th RGB, composited over white: transparent areas (regions a
// scanner left out) are glass, not black.
cv::Mat readThumbnail(const ImageSource& source, int level, int tw, int th) {
    const Level& lv = source.info().level(level);
    const std::int64_t lw = lv.width, lh = lv.height;
    std::vector<int> colOf(static_cast<std::size_t>(lw));
    for (std::int64_t x = 0; x < lw; ++x) colOf[static_cast<std::size_t>(x)] = int(x * tw / lw);
    cv::Mat sums(th, tw, CV_64FC3, cv::Scalar::all(0));
    cv::Mat counts(th, tw, CV_64FC1, cv::Scalar::all(0));
    constexpr std::int64_t kTile = 2048;
    for (std::int64_t ty = 0; ty < lh; ty += kTile)
        for (std::int64_t tx = 0; tx < lw; tx += kTile) {
            const Rect r{tx, ty, std::min(kTile, lw - tx), std::min(kTile, lh - ty)};
            const PixelBuffer px = source.readRegion(level, r);
            for (int y = 0; y < px.height; ++y) {
                const int row = int((ty + y) * th / lh);
                auto* s = sums.ptr<cv::Vec3d>(row);
                double* n = counts.ptr<double>(row);
                const std::uint8_t* p = px.row(y);
                for (int x = 0; x < px.width; ++x, p += 4) {
                    const int col = colOf[static_cast<std::size_t>(tx + x)];
                    const double a = p[3] / 255.0, white = 255.0 * (1.0 - a);
                    s[col] += cv::Vec3d(p[0] * a + white, p[1] * a + white, p[2] * a + white);
                    n[col] += 1;
                }
            }
        }
    cv::Mat rgb(th, tw, CV_8UC3);
    for (int y = 0; y < th; ++y)
        for (int x = 0; x < tw; ++x) {
            const double n = std::max(1.0, counts.at<double>(y, x));
            const cv::Vec3d& s = sums.at<cv::Vec3d>(y, x);
            rgb.at<cv::Vec3b>(y, x) =
                cv::Vec3b(cv::saturate_cast<uchar>(s[0] / n), cv::saturate_cast<uchar>(s[1] / n),
                          cv::saturate_cast<uchar>(s[2] / n));
        }
    return rgb;
}

// Background not reachable from the image border is a hole in the tissue: fill it. A one-pixel
// frame of background lets one flood fill reach every border-touching background region.
void fillHoles(cv::Mat& mask) {
    cv::Mat framed;
    cv::copyMakeBorder(mask, framed, 1, 1, 1, 1, cv::BORDER_CONSTANT, cv::Scalar(0));
    cv::Mat outside = framed.clone();
    cv::floodFill(outside, cv::Point(0, 0), cv::Scalar(255));
    cv::Mat holes;
    cv::bitwise_not(outside, holes);
    framed |= holes;
    framed(cv::Rect(1, 1, mask.cols, mask.rows)).copyTo(mask);
}

void removeSpecks(cv::Mat& mask, double minArea) {
    cv::Mat labels, stats, centroids;
    const int n = cv::connectedComponentsWithStats(mask, labels, stats, centroids, 8, CV_32S);
    std::vector<std::uint8_t> keep(static_cast<std::size_t>(n), 0);
    for (int i = 1; i < n; ++i) keep[i] = stats.at<int>(i, cv::CC_STAT_AREA) >= minArea ? 255 : 0;
    for (int y = 0; y < mask.rows; ++y) {
        const int* l = labels.ptr<int>(y);
        std::uint8_t* m = mask.ptr<std::uint8_t>(y);
        for (int x = 0; x < mask.cols; ++x) m[x] = keep[static_cast<std::size_t>(l[x])];
    }
}

// Sum of a piecewise-constant mask over [0, X) x [0, Y) for fractional X, Y: bilinear between the
// integer running sums is exact, as the mask is constant inside each pixel.
double integralAt(const TissueMask& t, double X, double Y) {
    const int x0 = std::min(static_cast<int>(X), t.width - 1);
    const int y0 = std::min(static_cast<int>(Y), t.height - 1);
    const double fx = X - x0, fy = Y - y0;
    const std::size_t w1 = static_cast<std::size_t>(t.width) + 1;
    auto I = [&](int x, int y) { return t.integral[static_cast<std::size_t>(y) * w1 + x]; };
    return I(x0, y0) * (1 - fx) * (1 - fy) + I(x0 + 1, y0) * fx * (1 - fy) +
           I(x0, y0 + 1) * (1 - fx) * fy + I(x0 + 1, y0 + 1) * fx * fy;
}

}  // namespace

void TissueMask::updateIntegral() {
    const std::size_t w1 = static_cast<std::size_t>(width) + 1;
    integral.assign(w1 * (static_cast<std::size_t>(height) + 1), 0.0);
    for (int y = 0; y < height; ++y) {
        double rowSum = 0;
        for (int x = 0; x < width; ++x) {
            rowSum += at(x, y) ? 1.0 : 0.0;
            integral[(y + 1) * w1 + x + 1] = integral[y * w1 + x + 1] + rowSum;
        }
    }
}

double TissueMask::coverage(double x, double y, double w, double h) const {
    if (!(w > 0 && h > 0) || width <= 0 || height <= 0) return 0;
    // In mask pixels, clipped to the mask: outside it nothing is tissue.
    const double x0 = std::clamp(x / downsample, 0.0, double(width));
    const double x1 = std::clamp((x + w) / downsample, 0.0, double(width));
    const double y0 = std::clamp(y / downsample, 0.0, double(height));
    const double y1 = std::clamp((y + h) / downsample, 0.0, double(height));
    const double area = (w / downsample) * (h / downsample);
    if (!(x1 > x0 && y1 > y0)) return 0;
    double tissue = 0;
    if (integral.size() == (std::size_t(width) + 1) * (std::size_t(height) + 1)) {
        tissue = integralAt(*this, x1, y1) - integralAt(*this, x0, y1) - integralAt(*this, x1, y0) +
                 integralAt(*this, x0, y0);
    } else {
        // No running sums (a mask filled by hand): weigh each pixel by its overlap.
        for (int py = int(y0); py < int(std::ceil(y1)); ++py) {
            const double oy = std::min(y1, py + 1.0) - std::max(y0, double(py));
            for (int px = int(x0); px < int(std::ceil(x1)); ++px)
                if (at(px, py)) tissue += oy * (std::min(x1, px + 1.0) - std::max(x0, double(px)));
        }
    }
    return std::clamp(tissue / area, 0.0, 1.0);
}

TissueMask detectTissue(const ImageSource& source, const TissueOptions& options) {
    const ImageInfo& info = source.info();
    TissueMask out;
    if (info.levels.empty() || info.width() <= 0 || info.height() <= 0) return out;
    const int maxSide = std::max(1, options.thumbnailMaxSide);
    const int level = thumbnailLevel(info, maxSide);
    const Level& lv = info.level(level);
    const double scale = std::min(1.0, double(maxSide) / double(std::max(lv.width, lv.height)));
    const int tw = std::max(1, int(std::lround(double(lv.width) * scale)));
    const int th = std::max(1, int(std::lround(double(lv.height) * scale)));
    out.width = tw;
    out.height = th;
    // From level 0's own extent, so mask pixels tile level 0 whatever the level's rounding.
    out.downsample =
        info.width() >= info.height() ? double(info.width()) / tw : double(info.height()) / th;

    cv::Mat mask;
    if (info.pixelFormat == PixelFormat::Gray16) {
        // Grey images (DICOM, MRI) carry no stain and no glass to tell apart: all of it counts.
        mask = cv::Mat(th, tw, CV_8UC1, cv::Scalar(255));
    } else {
        const cv::Mat rgb = readThumbnail(source, level, tw, th);
        cv::Mat hsv;
        cv::cvtColor(rgb, hsv, cv::COLOR_RGB2HSV);
        cv::Mat saturation;
        cv::extractChannel(hsv, saturation, 1);
        const double otsu =
            cv::threshold(saturation, mask, 0, 255, cv::THRESH_BINARY | cv::THRESH_OTSU);
        // Empty glass has only noise: Otsu then splits the noise, which the floor prevents.
        out.threshold = std::max(otsu, options.minThreshold);
        cv::threshold(saturation, mask, out.threshold, 255, cv::THRESH_BINARY);
        // Close gaps of pale stroma and nuclei-free spots inside tissue (about 0.4% of the side).
        const int k = std::max(3, (std::max(tw, th) / 256) | 1);
        cv::morphologyEx(mask, mask, cv::MORPH_CLOSE,
                         cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(k, k)));
        fillHoles(mask);
        removeSpecks(mask, options.minSpeckArea * double(tw) * double(th));
    }
    if (!mask.isContinuous()) mask = mask.clone();
    out.mask.assign(mask.datastart, mask.dataend);
    out.updateIntegral();

    std::vector<std::vector<cv::Point>> contours;
    cv::findContours(mask, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
    for (const auto& c : contours) {
        std::vector<std::pair<double, double>> outline;
        outline.reserve(c.size());
        // Contour points are border pixels; their centres, in level-0 pixels.
        for (const cv::Point& p : c)
            outline.emplace_back((p.x + 0.5) * out.downsample, (p.y + 0.5) * out.downsample);
        out.outlines.push_back(std::move(outline));
    }
    return out;
}

}  // namespace lucida
