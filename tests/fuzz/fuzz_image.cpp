// libFuzzer target: an image file opened by content (openImage: OpenSlide's formats, PNG, JPEG,
// TIFF, DICOM …) and the first tile of level 0 read. Built once per seed corpus (slides, raster
// images, DICOM), with the file name extension of that corpus (LUCIDA_FUZZ_EXTENSION).
#include "FuzzFile.h"
#include "image/ImageError.h"
#include "image/ImageSource.h"

#include <algorithm>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string& path = fuzz::writeInput(data, size, LUCIDA_FUZZ_EXTENSION);
    try {
        const auto image = lucida::openImage(path);
        const lucida::ImageInfo& info = image->info();
        if (!info.levels.empty()) {
            const lucida::Rect tile{0, 0, std::min<std::int64_t>(256, info.width()),
                                    std::min<std::int64_t>(256, info.height())};
            const lucida::PixelBuffer pixels = image->readRegion(0, tile);
            (void)pixels;
        }
    } catch (const lucida::ImageError&) {
        // refused, naming the file
    }
    return 0;
}
