// The format table: detection order matters, most specific content first.
#include "image/DicomSource.h"
#include "image/ImageFormat.h"
#include "image/OpenSlideSource.h"
#include "image/RasterImageSource.h"

namespace lucida {

const std::vector<ImageFormat>& imageFormats() {
    static const std::vector<ImageFormat> formats = {
        DicomSource::format(),
        OpenSlideSource::format(),
        RasterImageSource::format(),
    };
    return formats;
}

}  // namespace lucida
