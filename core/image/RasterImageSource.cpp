#include "image/RasterImageSource.h"

#include "image/ImageError.h"
#include "image/ImageLimits.h"
#include "image/RasterHeader.h"
#include "image/RegionCopy.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <tiffio.h>

#include <algorithm>

namespace lucida {

namespace {

// Pyramid levels stop once the image fits this size: the overview and fit-to-window need no less.
constexpr int kSmallestLevelSide = 1024;

std::optional<double> tiffMicronsPerPixel(const std::string& path) {
    std::unique_ptr<TIFF, void (*)(TIFF*)> tif(TIFFOpen(path.c_str(), "r"), TIFFClose);
    if (!tif) return std::nullopt;
    std::uint16_t unit = 0;
    float xres = 0;
    // Only centimetres: the 72-dpi inch default of most writers says nothing about the specimen.
    if (TIFFGetField(tif.get(), TIFFTAG_RESOLUTIONUNIT, &unit) && unit == RESUNIT_CENTIMETER &&
        TIFFGetField(tif.get(), TIFFTAG_XRESOLUTION, &xres) && xres > 0)
        return 10000.0 / xres;
    return std::nullopt;
}

}  // namespace

struct RasterImageSource::Impl {
    ImageInfo info;
    std::vector<cv::Mat> levels;  // native channels: 1 (grey, 8U or 16U) or 3 (BGR, 8U)
};

ImageFormat RasterImageSource::format() {
    return {"Plain image (OpenCV)",
            {"png", "jpg", "jpeg", "tif", "tiff", "bmp"},
            [](const FileProbe& p) { return !p.isDirectory && readRasterHeader(p).has_value(); },
            [](const FileProbe& p) { return std::make_unique<RasterImageSource>(p.path); }};
}

RasterImageSource::RasterImageSource(const std::string& path) : impl_(std::make_unique<Impl>()) {
    const FileProbe probe = FileProbe::of(path);
    const auto header = readRasterHeader(probe);
    if (!header) throw ImageError(path, "not a PNG, JPEG, TIFF or BMP file");
    if (header->width <= 0 || header->height <= 0)
        throw ImageError(path, header->kind + " header declares an empty image");
    // In double: a header may declare 2^32 x 2^32 (the product overflows 64 bits;
    // fuzz_image_raster).
    if (static_cast<double>(header->width) * static_cast<double>(header->height) >
        static_cast<double>(maxImagePixels()))
        throw ImageError(path, header->kind + " header declares " + std::to_string(header->width) +
                                   " x " + std::to_string(header->height) + " pixels, " +
                                   imagePixelLimitText());
    if (header->truncated) throw ImageError(path, header->truncation);

    // ANYDEPTH keeps 16-bit samples; ANYCOLOR keeps grey grey; EXIF orientation is applied.
    cv::Mat image;
    try {
        image = cv::imread(path, cv::IMREAD_ANYDEPTH | cv::IMREAD_ANYCOLOR);
    } catch (const cv::Exception& e) {
        throw ImageError(path, std::string("decoder failed: ") + e.what());
    }
    if (image.empty())
        throw ImageError(path, header->kind + " data is corrupt or cannot be decoded");

    ImageInfo& info = impl_->info;
    info.path = path;
    info.format = header->kind;
    info.properties = {{"raster.format", header->kind},
                       {"raster.width", std::to_string(image.cols)},
                       {"raster.height", std::to_string(image.rows)},
                       {"raster.channels", std::to_string(image.channels())},
                       {"raster.depth", image.depth() == CV_8U    ? "8-bit"
                                        : image.depth() == CV_16U ? "16-bit"
                                        : image.depth() == CV_16S ? "16-bit signed"
                                                                  : "32-bit float"}};

    // Normalise to: 8U grey or BGR, or 16U grey (Gray16 with a mapping back to real values).
    if (image.channels() == 4) cv::cvtColor(image, image, cv::COLOR_BGRA2BGR);
    if (image.channels() == 1 && image.depth() != CV_8U) {
        info.pixelFormat = PixelFormat::Gray16;
        double lo = 0, hi = 0;
        cv::minMaxLoc(image, &lo, &hi);
        if (image.depth() == CV_16S) {
            image.convertTo(image, CV_16U, 1.0, 32768.0);
            info.grayMapping = {1.0, -32768.0, ""};
        } else if (image.depth() != CV_16U) {  // float or 32-bit: spread over 16 bits, map back
            const double scale = hi > lo ? 65535.0 / (hi - lo) : 1.0;
            image.convertTo(image, CV_16U, scale, -lo * scale);
            info.grayMapping = {1.0 / scale, lo, ""};
        }
        info.windows.push_back({"Auto (min–max)", (lo + hi) / 2, std::max(hi - lo, 1.0)});
        info.windows.push_back({"Full range",
                                info.grayMapping.toValue(0) + info.grayMapping.slope * 32767.5,
                                info.grayMapping.slope * 65535.0});
    } else if (image.depth() != CV_8U) {
        image.convertTo(image, CV_8U, 1.0 / 257.0);  // 16-bit colour: the viewer shows 8 bits
    }
    if (header->kind == "TIFF") {
        if (auto mpp = tiffMicronsPerPixel(path)) info.mppX = info.mppY = *mpp;
    }

    impl_->levels.push_back(image);
    info.levels.push_back({image.cols, image.rows, 1.0});
    while (std::max(impl_->levels.back().cols, impl_->levels.back().rows) > kSmallestLevelSide) {
        const cv::Mat& prev = impl_->levels.back();
        cv::Mat next;
        cv::resize(prev, next, cv::Size((prev.cols + 1) / 2, (prev.rows + 1) / 2), 0, 0,
                   cv::INTER_AREA);
        info.levels.push_back({next.cols, next.rows, static_cast<double>(image.cols) / next.cols});
        impl_->levels.push_back(std::move(next));
    }
}

RasterImageSource::~RasterImageSource() = default;

const ImageInfo& RasterImageSource::info() const { return impl_->info; }

PixelBuffer RasterImageSource::readRegion(int level, const Rect& rect, int slice) const {
    if (level < 0 || level >= static_cast<int>(impl_->levels.size()))
        throw ImageError(impl_->info.path, "no level " + std::to_string(level));
    if (slice != 0) throw ImageError(impl_->info.path, "no slice " + std::to_string(slice));
    const cv::Mat& src = impl_->levels[static_cast<std::size_t>(level)];
    PixelBuffer out(static_cast<int>(rect.width), static_cast<int>(rect.height),
                    impl_->info.pixelFormat);
    const Rect inside = clipRect(rect, src.cols, src.rows);
    if (inside.width == 0) return out;
    const cv::Mat from =
        src(cv::Rect(static_cast<int>(inside.x), static_cast<int>(inside.y),
                     static_cast<int>(inside.width), static_cast<int>(inside.height)));
    const int type = out.format == PixelFormat::Gray16 ? CV_16UC1 : CV_8UC4;
    cv::Mat whole(out.height, out.width, type, out.bytes.data(), out.stride());
    cv::Mat to = whole(cv::Rect(static_cast<int>(inside.x - rect.x),
                                static_cast<int>(inside.y - rect.y), from.cols, from.rows));
    if (out.format == PixelFormat::Gray16)
        from.copyTo(to);
    else
        cv::cvtColor(from, to, from.channels() == 1 ? cv::COLOR_GRAY2RGBA : cv::COLOR_BGR2RGBA);
    return out;
}

}  // namespace lucida
