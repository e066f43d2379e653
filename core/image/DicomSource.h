#pragma once

#include "image/ImageFormat.h"
#include "image/ImageSource.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace lucida {

// One image series of a folder or DICOMDIR, as offered for choosing.
struct DicomSeries {
    std::string uid;  // SeriesInstanceUID; empty when the files carry none
    std::string modality, description, number;
    int files = 0;
    int frames = 0;      // slices, all files together
    std::string folder;  // the closest folder holding all its files
};

// DICOM through DCMTK: a single- or multi-frame file, or a series of a folder (sorted by position
// along the slice normal). A folder is read through its DICOMDIR when it has one, else through
// its files and subfolders; it may hold several series: the largest is opened unless one is
// chosen (listSeries). Greyscale stays Gray16 so the viewer can window it (1-bit and 32-bit
// samples included: 32-bit values are held as 16-bit steps, see dicom.value_step); colour becomes
// Rgba8. Compressed transfer syntaxes: DCMTK's decoders (JPEG baseline/extended/lossless,
// JPEG-LS, RLE) and JPEG 2000 through OpenJPEG.
class DicomSource final : public ImageSource {
public:
    static ImageFormat format();
    explicit DicomSource(const std::string& path);  // file or folder; throws ImageError
    // One series (by SeriesInstanceUID) of a folder or DICOMDIR; throws ImageError.
    DicomSource(const std::string& path, const std::string& seriesUid);
    ~DicomSource() override;

    // The image series of a folder or DICOMDIR file, largest first; throws ImageError.
    static std::vector<DicomSeries> listSeries(const std::string& path);

    const ImageInfo& info() const override;
    PixelBuffer readRegion(int level, const Rect& rect, int slice) const override;
    std::vector<Window> windowsForSlice(int slice) const override;

private:
    struct SeriesChoice {
        std::optional<std::string> uid;  // none: the largest series
    };
    DicomSource(const std::string& path, SeriesChoice choice);
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace lucida
