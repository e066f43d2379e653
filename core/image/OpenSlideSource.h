#pragma once

#include "image/ImageFormat.h"
#include "image/ImageSource.h"

#include <memory>

namespace lucida {

// Whole slides through OpenSlide: every vendor format it reads (SVS, NDPI, MRXS, SCN, BIF, VMS,
// Philips TIFF, generic tiled TIFF). OpenSlide's errors are sticky: once a read fails, every later
// read throws the same error, as the library leaves the handle unusable.
class OpenSlideSource final : public ImageSource {
public:
    static ImageFormat format();
    explicit OpenSlideSource(const std::string& path);  // throws ImageError
    ~OpenSlideSource() override;

    const ImageInfo& info() const override;
    PixelBuffer readRegion(int level, const Rect& rect, int slice) const override;
    PixelBuffer readAssociatedImage(const std::string& name) const override;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace lucida
