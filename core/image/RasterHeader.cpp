#include "image/RasterHeader.h"

#include "image/ImageError.h"

#include <tiffio.h>

#include <algorithm>
#include <fstream>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace lucida {

namespace {

std::uint32_t be32(const std::uint8_t* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
           p[3];
}
std::uint16_t be16(const std::uint8_t* p) { return static_cast<std::uint16_t>((p[0] << 8) | p[1]); }
std::int32_t le32(const std::uint8_t* p) {
    return static_cast<std::int32_t>(std::uint32_t{p[0]} | (std::uint32_t{p[1]} << 8) |
                                     (std::uint32_t{p[2]} << 16) | (std::uint32_t{p[3]} << 24));
}

RasterHeader header(std::string kind, std::int64_t width, std::int64_t height) {
    RasterHeader h;
    h.kind = std::move(kind);
    h.width = width;
    h.height = height;
    return h;
}

std::vector<std::uint8_t> readTail(const std::string& path, std::uintmax_t size, std::size_t n) {
    std::ifstream in(path, std::ios::binary);
    const std::uintmax_t start = size > n ? size - n : 0;
    in.seekg(static_cast<std::streamoff>(start));
    std::vector<std::uint8_t> tail(static_cast<std::size_t>(size - start));
    in.read(reinterpret_cast<char*>(tail.data()), static_cast<std::streamsize>(tail.size()));
    return tail;
}

// libpng allocates a whole ancillary chunk before reading it: a 186-byte file declaring a
// 1.8 GB chunk made it allocate 1.8 GB (fuzz_image_raster). Every chunk must fit in the file; the
// walk advances at least 12 bytes a step, so it ends.
void checkPngChunks(const FileProbe& p) {
    std::ifstream in(p.path, std::ios::binary);
    std::uintmax_t pos = 8;
    std::uint8_t chunk[8];
    while (pos + 12 <= p.size) {
        in.seekg(static_cast<std::streamoff>(pos));
        if (!in.read(reinterpret_cast<char*>(chunk), 8)) return;
        const std::uintmax_t length = be32(chunk);
        const std::string type(reinterpret_cast<const char*>(chunk + 4), 4);
        if (length > p.size - pos - 12)
            throw ImageError(p.path, "PNG chunk " + type + " at byte " + std::to_string(pos) +
                                         " declares " + std::to_string(length) +
                                         " bytes, more than the " + std::to_string(p.size) +
                                         "-byte file holds");
        if (type == "IEND") return;
        pos += 12 + length;
    }
}

RasterHeader pngHeader(const FileProbe& p) {
    // Signature (8) + IHDR chunk length (4) + "IHDR" (4) + width (4) + height (4).
    if (p.head.size() < 24 || !p.startsWith("IHDR", 4, 12))
        throw ImageError(p.path, "PNG header is damaged (no IHDR chunk)");
    RasterHeader h = header("PNG", be32(&p.head[16]), be32(&p.head[20]));
    const auto tail = readTail(p.path, p.size, 12);
    static const std::uint8_t iend[] = {'I', 'E', 'N', 'D'};
    if (tail.size() < 12 || !std::equal(iend, iend + 4, tail.begin() + 4)) {
        h.truncated = true;
        h.truncation = "PNG file ends before its IEND chunk (truncated)";
        return h;
    }
    checkPngChunks(p);
    return h;
}

RasterHeader jpegHeader(const FileProbe& p) {
    // Walk the marker segments to the first start-of-frame (SOF0..SOF15 except DHT/JPG/DAC).
    std::ifstream in(p.path, std::ios::binary);
    std::vector<std::uint8_t> data(
        static_cast<std::size_t>(std::min<std::uintmax_t>(p.size, 1 << 20)));
    in.read(reinterpret_cast<char*>(data.data()), static_cast<std::streamsize>(data.size()));
    RasterHeader h = header("JPEG", 0, 0);
    std::size_t i = 2;
    bool found = false;
    while (i + 9 < data.size()) {
        if (data[i] != 0xFF) throw ImageError(p.path, "JPEG header is damaged (bad marker)");
        const std::uint8_t marker = data[i + 1];
        if (marker == 0xFF) {
            ++i;
            continue;
        }
        const std::uint16_t length = be16(&data[i + 2]);
        const bool sof =
            marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
        if (sof) {
            h.height = be16(&data[i + 5]);
            h.width = be16(&data[i + 7]);
            found = true;
            break;
        }
        if (marker == 0xDA) break;  // start of scan before any frame header
        i += 2 + length;
    }
    if (!found) throw ImageError(p.path, "JPEG has no frame header (corrupt or truncated)");
    const auto tail = readTail(p.path, p.size, 2);
    if (tail.size() < 2 || tail[0] != 0xFF || tail[1] != 0xD9) {
        h.truncated = true;
        h.truncation = "JPEG data ends before its end-of-image marker (truncated)";
    }
    return h;
}

RasterHeader bmpHeader(const FileProbe& p) {
    if (p.head.size() < 26) throw ImageError(p.path, "BMP header is truncated");
    RasterHeader h = header("BMP", std::abs(static_cast<std::int64_t>(le32(&p.head[18]))),
                            std::abs(static_cast<std::int64_t>(le32(&p.head[22]))));
    const std::uint32_t declared = static_cast<std::uint32_t>(le32(&p.head[2]));
    if (declared > p.size) {
        h.truncated = true;
        h.truncation =
            "BMP file is shorter than its header declares (truncated: " + std::to_string(p.size) +
            " of " + std::to_string(declared) + " bytes)";
    }
    return h;
}

RasterHeader tiffHeader(const FileProbe& p) {
    // libtiff reports through handlers; silence them, the ImageError says what matters.
    TIFFSetErrorHandler(nullptr);
    TIFFSetWarningHandler(nullptr);
    std::unique_ptr<TIFF, void (*)(TIFF*)> tif(TIFFOpen(p.path.c_str(), "r"), TIFFClose);
    if (!tif)
        throw ImageError(p.path,
                         "TIFF header or first directory is unreadable (corrupt or truncated)");
    std::uint32_t w = 0, h = 0;
    TIFFGetField(tif.get(), TIFFTAG_IMAGEWIDTH, &w);
    TIFFGetField(tif.get(), TIFFTAG_IMAGELENGTH, &h);
    RasterHeader result = header("TIFF", w, h);
    // The decoder (OpenCV) allocates a whole tile or strip, 4 bytes per pixel, from these fields
    // whatever the image's size: a 10 x 15 image declaring 500000 x 819 tiles asked 1.6 GB
    // (fuzz_image_slide). Real files' tiles and strips stay near the image or small (a 4096 x
    // 4096 tile, 65535-row strips on a narrow image): beyond both, refused.
    std::uint32_t tileWidth = 0, tileHeight = 0, rowsPerStrip = 0;
    double blockPixels = 0;
    std::string block;
    if (TIFFIsTiled(tif.get())) {
        TIFFGetField(tif.get(), TIFFTAG_TILEWIDTH, &tileWidth);
        TIFFGetField(tif.get(), TIFFTAG_TILELENGTH, &tileHeight);
        blockPixels = double(tileWidth) * double(tileHeight);
        block = std::to_string(tileWidth) + " x " + std::to_string(tileHeight) + " tiles";
    } else if (TIFFGetField(tif.get(), TIFFTAG_ROWSPERSTRIP, &rowsPerStrip) &&
               rowsPerStrip != std::numeric_limits<std::uint32_t>::max()) {
        blockPixels = double(w) * double(rowsPerStrip);
        block = std::to_string(rowsPerStrip) + "-row strips";
    }
    if (blockPixels > std::max(4.0 * double(w) * double(h), double(1 << 24)))
        throw ImageError(p.path, "TIFF declares " + block + " for a " + std::to_string(w) + " x " +
                                     std::to_string(h) +
                                     " image (corrupt: the decoder would allocate " +
                                     std::to_string(std::int64_t(blockPixels * 4 / 1e6)) + " MB)");
    // Truncation: the last strip must end inside the file.
    const tstrip_t strips = TIFFNumberOfStrips(tif.get());
    std::uint64_t* offsets = nullptr;
    std::uint64_t* counts = nullptr;
    if (!TIFFIsTiled(tif.get()) && strips > 0 &&
        TIFFGetField(tif.get(), TIFFTAG_STRIPOFFSETS, &offsets) &&
        TIFFGetField(tif.get(), TIFFTAG_STRIPBYTECOUNTS, &counts)) {
        const std::uint64_t end = offsets[strips - 1] + counts[strips - 1];
        if (end > p.size) {
            result.truncated = true;
            result.truncation = "TIFF pixel data runs past the end of the file (truncated: " +
                                std::to_string(p.size) + " of " + std::to_string(end) + " bytes)";
        }
    }
    return result;
}

}  // namespace

std::optional<RasterHeader> readRasterHeader(const FileProbe& p) {
    if (p.startsWith("\x89PNG\r\n\x1a\n", 8)) return pngHeader(p);
    if (p.startsWith("\xFF\xD8\xFF", 3)) return jpegHeader(p);
    if (p.startsWith("BM", 2)) return bmpHeader(p);
    if (p.startsWith("II*\0", 4) || p.startsWith("MM\0*", 4) || p.startsWith("II+\0", 4) ||
        p.startsWith("MM\0+", 4))
        return tiffHeader(p);
    return std::nullopt;
}

}  // namespace lucida
