#pragma once

#include "image/ImageFormat.h"
#include "image/ImageSource.h"

#include <memory>

namespace lucida {

// DICOM through DCMTK: a single- or multi-frame file, or a folder holding one series (slices
// sorted by position along the slice normal). Greyscale stays Gray16 so the viewer can window it;
// colour becomes Rgba8. Compressed transfer syntaxes: whatever DCMTK's decoders handle (JPEG
// baseline/extended/lossless, JPEG-LS, RLE).
class DicomSource final : public ImageSource {
public:
    static ImageFormat format();
    explicit DicomSource(const std::string& path);  // file or folder; throws ImageError
    ~DicomSource() override;

    const ImageInfo& info() const override;
    PixelBuffer readRegion(int level, const Rect& rect, int slice) const override;
    std::vector<Window> windowsForSlice(int slice) const override;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace lucida
