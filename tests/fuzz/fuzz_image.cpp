// libFuzzer target: an image file opened by content (openImage: OpenSlide's formats, PNG, JPEG,
// TIFF, DICOM …) and the first tile of level 0 read. Built once per seed corpus (slides, raster
// images, DICOM), with the file name extension of that corpus (LUCIDA_FUZZ_EXTENSION).
#include "FuzzFile.h"
#include "image/ImageError.h"
#include "image/ImageLimits.h"
#include "image/ImageSource.h"

#include <algorithm>

// Frames decoded whole are limited to 4 Mpx, as OSS-Fuzz's image decoders do: a 256 KB input may
// legitimately declare a 128-Mpx JPEG, whose decoding under AddressSanitizer outlasts the 20-second
// timeout without finding anything a 4-Mpx frame would not.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
    lucida::setMaxImagePixels(std::int64_t{1} << 22);
    return 0;
}

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
