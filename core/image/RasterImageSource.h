#pragma once

#include "image/ImageFormat.h"
#include "image/ImageSource.h"

#include <memory>

namespace lucida {

// Plain images through OpenCV: PNG, JPEG, TIFF (8/16-bit), BMP. Decoded once at open; a large
// photo is served as a pyramid (halving until it fits 1024 px) so it pans like a slide.
// 16-bit greyscale stays Gray16.
class RasterImageSource final : public ImageSource {
public:
    static ImageFormat format();
    explicit RasterImageSource(const std::string& path);  // throws ImageError
    ~RasterImageSource() override;

    const ImageInfo& info() const override;
    PixelBuffer readRegion(int level, const Rect& rect, int slice) const override;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace lucida
