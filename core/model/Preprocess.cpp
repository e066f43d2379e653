#include "model/Preprocess.h"

#include "image/Windowing.h"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace lucida {

namespace {
// Grey stored values -> 0..255 through a window, as the viewer shows them (image/Windowing).
cv::Mat windowed(const PixelBuffer& image, const Window& w, const GrayMapping& m) {
    std::vector<std::uint8_t> grey = windowGray16(image, m, w);
    return cv::Mat(image.height, image.width, CV_8U, grey.data()).clone();
}
}  // namespace

FloatTensor preprocess(const PixelBuffer& image, const ModelSpec& spec, const Window* window,
                       const GrayMapping* mapping) {
    cv::Mat rgb;
    if (image.format == PixelFormat::Gray16) {
        if (!window || !mapping)
            throw std::invalid_argument(
                "a 16-bit grey image needs a window to be shown to a model");
        cv::cvtColor(windowed(image, *window, *mapping), rgb, cv::COLOR_GRAY2RGB);
    } else {
        const cv::Mat rgba(image.height, image.width, CV_8UC4,
                           const_cast<std::uint8_t*>(image.bytes.data()), image.stride());
        cv::cvtColor(rgba, rgb, cv::COLOR_RGBA2RGB);
    }
    cv::Mat resized;
    if (rgb.cols != spec.inputWidth || rgb.rows != spec.inputHeight)
        cv::resize(rgb, resized, cv::Size(spec.inputWidth, spec.inputHeight), 0, 0,
                   cv::INTER_LINEAR);
    else
        resized = rgb;
    FloatTensor out({1, 3, spec.inputHeight, spec.inputWidth});
    const std::size_t plane = static_cast<std::size_t>(spec.inputWidth) * spec.inputHeight;
    for (int y = 0; y < resized.rows; ++y) {
        const auto* px = resized.ptr<cv::Vec3b>(y);
        for (int x = 0; x < resized.cols; ++x)
            for (int c = 0; c < 3; ++c)
                out.data[c * plane + static_cast<std::size_t>(y) * spec.inputWidth + x] =
                    (px[x][c] / 255.0f - spec.mean[static_cast<std::size_t>(c)]) /
                    spec.std[static_cast<std::size_t>(c)];
    }
    return out;
}

PixelBuffer readWholeImage(const ImageSource& source, int minWidth, int minHeight, int slice) {
    const ImageInfo& info = source.info();
    int level = 0;
    for (std::size_t i = 0; i < info.levels.size(); ++i)
        if (info.levels[i].width >= minWidth && info.levels[i].height >= minHeight)
            level = static_cast<int>(i);
    const Level& lv = info.level(level);
    if (lv.width * lv.height > (std::int64_t{1} << 28))
        throw std::invalid_argument(
            info.path + ": too large to explain whole (use lucida-cli analyse for slides)");
    PixelBuffer pixels = source.readRegion(level, {0, 0, lv.width, lv.height}, slice);
    if (pixels.format == PixelFormat::Rgba8) return pixels;
    const auto windows = source.windowsForSlice(slice);
    const Window w = windows.empty() ? Window{"Full range", 32767.5, 65535.0} : windows.front();
    cv::Mat grey = windowed(pixels, w, info.grayMapping), rgba;
    cv::cvtColor(grey, rgba, cv::COLOR_GRAY2RGBA);
    PixelBuffer out(pixels.width, pixels.height, PixelFormat::Rgba8);
    std::memcpy(out.bytes.data(), rgba.data, out.bytes.size());
    return out;
}

FloatTensor stackBatch(const std::vector<FloatTensor>& images) {
    if (images.empty()) throw std::invalid_argument("empty batch");
    std::vector<std::int64_t> shape = images.front().shape;
    shape[0] = static_cast<std::int64_t>(images.size());
    FloatTensor out(shape);
    std::size_t offset = 0;
    for (const FloatTensor& t : images) {
        if (t.shape != images.front().shape)
            throw std::invalid_argument("images of a batch differ in shape");
        std::copy(t.data.begin(), t.data.end(),
                  out.data.begin() + static_cast<std::ptrdiff_t>(offset));
        offset += t.data.size();
    }
    return out;
}

}  // namespace lucida
