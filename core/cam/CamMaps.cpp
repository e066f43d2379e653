#include "cam/CamMaps.h"

#include <algorithm>
#include <cmath>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace lucida {

namespace {
cv::Mat asMat(const FloatTensor& map) {
    if (map.dims() != 2) throw std::invalid_argument("a CAM map is [h, w]");
    return cv::Mat(static_cast<int>(map.size(0)), static_cast<int>(map.size(1)), CV_32F,
                   const_cast<float*>(map.data.data()));
}
}  // namespace

MapScale minMaxScale(const FloatTensor& map) { return sharedScale({&map}); }

MapScale sharedScale(const std::vector<const FloatTensor*>& maps) {
    MapScale s{std::numeric_limits<float>::max(), std::numeric_limits<float>::lowest()};
    for (const FloatTensor* m : maps)
        for (float v : m->data) {
            s.low = std::min(s.low, v);
            s.high = std::max(s.high, v);
        }
    if (s.low > s.high) s = {0, 1};
    return s;
}

FloatTensor normalise(const FloatTensor& map, const MapScale& scale) {
    FloatTensor out(map.shape);
    const float range = scale.high - scale.low;
    for (std::size_t i = 0; i < map.data.size(); ++i)
        out.data[i] = range > 0 ? std::clamp((map.data[i] - scale.low) / range, 0.0f, 1.0f) : 0.0f;
    return out;
}

FloatTensor upsample(const FloatTensor& map, int width, int height) {
    FloatTensor out({height, width});
    cv::Mat dst(height, width, CV_32F, out.data.data());
    cv::resize(asMat(map), dst, dst.size(), 0, 0, cv::INTER_LINEAR);
    return out;
}

ColourMap colourMapFromName(const std::string& name) {
    if (name == "jet") return ColourMap::Jet;
    if (name == "viridis") return ColourMap::Viridis;
    if (name == "turbo") return ColourMap::Turbo;
    if (name == "inferno") return ColourMap::Inferno;
    if (name == "grey" || name == "gray") return ColourMap::Grey;
    throw std::invalid_argument("unknown colour map '" + name +
                                "' (jet, viridis, turbo, inferno, grey)");
}

PixelBuffer colouriseMap(const FloatTensor& map, ColourMap colours) {
    const int h = static_cast<int>(map.size(0)), w = static_cast<int>(map.size(1));
    cv::Mat grey(h, w, CV_8U);
    for (int i = 0; i < h * w; ++i) {
        const float v = map.data[static_cast<std::size_t>(i)];
        grey.data[i] =
            std::isnan(v) ? 0
                          : static_cast<std::uint8_t>(std::lround(255 * std::clamp(v, 0.0f, 1.0f)));
    }
    cv::Mat heat;
    if (colours == ColourMap::Grey)
        cv::cvtColor(grey, heat, cv::COLOR_GRAY2BGR);
    else
        cv::applyColorMap(grey, heat,
                          colours == ColourMap::Jet       ? cv::COLORMAP_JET
                          : colours == ColourMap::Viridis ? cv::COLORMAP_VIRIDIS
                          : colours == ColourMap::Turbo   ? cv::COLORMAP_TURBO
                                                          : cv::COLORMAP_INFERNO);
    PixelBuffer out(w, h, PixelFormat::Rgba8);
    for (int i = 0; i < h * w; ++i) {
        const auto& c = heat.at<cv::Vec3b>(i / w, i % w);
        const bool empty = std::isnan(map.data[static_cast<std::size_t>(i)]);
        std::uint8_t* p = out.bytes.data() + 4 * static_cast<std::size_t>(i);
        p[0] = c[2], p[1] = c[1], p[2] = c[0], p[3] = empty ? 0 : 255;
    }
    return out;
}

PixelBuffer overlayHeatmap(const PixelBuffer& rgba, const FloatTensor& map, ColourMap colours,
                           float opacity, float threshold) {
    if (rgba.format != PixelFormat::Rgba8)
        throw std::invalid_argument("overlay needs an RGBA image");
    const FloatTensor resized = upsample(map, rgba.width, rgba.height);
    cv::Mat grey;
    asMat(resized).convertTo(grey, CV_8U, 255.0);
    cv::Mat heat;
    if (colours == ColourMap::Grey)
        cv::cvtColor(grey, heat, cv::COLOR_GRAY2BGR);
    else {
        const int cvMap = colours == ColourMap::Jet       ? cv::COLORMAP_JET
                          : colours == ColourMap::Viridis ? cv::COLORMAP_VIRIDIS
                          : colours == ColourMap::Turbo   ? cv::COLORMAP_TURBO
                                                          : cv::COLORMAP_INFERNO;
        cv::applyColorMap(grey, heat, cvMap);  // BGR
    }
    PixelBuffer out = rgba;
    for (int y = 0; y < out.height; ++y) {
        std::uint8_t* row = out.row(y);
        const cv::Vec3b* h = heat.ptr<cv::Vec3b>(y);
        const float* v = resized.data.data() + static_cast<std::size_t>(y) * out.width;
        for (int x = 0; x < out.width; ++x) {
            if (v[x] < threshold) continue;
            for (int c = 0; c < 3; ++c)
                row[4 * x + c] = static_cast<std::uint8_t>(
                    std::lround((1 - opacity) * row[4 * x + c] + opacity * h[x][2 - c]));
        }
    }
    return out;
}

}  // namespace lucida
