#include "image/JpegFrameHeader.h"

#include <algorithm>

namespace lucida {

namespace {

int be16(const std::uint8_t* p) { return int(p[0]) << 8 | int(p[1]); }

// SOF0-3, 5-7, 9-11, 13-15 (C4 is DHT, C8 reserved, CC is DAC) and JPEG-LS's SOF55.
bool isFrameHeader(std::uint8_t m) {
    return (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) || m == 0xF7;
}

bool standalone(std::uint8_t m) { return m == 0x01 || (m >= 0xD0 && m <= 0xD8); }

std::uint64_t ceilDiv(std::uint64_t a, std::uint64_t b) { return (a + b - 1) / b; }

}  // namespace

JpegFrameHeader readJpegFrameHeader(const std::uint8_t* data, std::size_t size) {
    if (!data || size < 4 || data[0] != 0xFF || data[1] != 0xD8)
        throw JpegError("the codestream does not start with a JPEG start-of-image marker");
    std::size_t i = 2;
    while (true) {  // each turn moves past one marker: bounded by the size
        while (i < size && data[i] != 0xFF) ++i;  // tolerate stray bytes between segments
        while (i < size && data[i] == 0xFF) ++i;  // fill bytes
        if (i >= size) throw JpegError("the codestream ends before a frame header");
        const std::uint8_t m = data[i++];
        if (standalone(m)) continue;
        if (m == 0xD9 || m == 0xDA)
            throw JpegError(m == 0xDA ? "a scan starts before any frame header"
                                      : "the codestream ends before a frame header");
        if (i + 2 > size) throw JpegError("a marker segment runs past the end");
        const int length = be16(data + i);
        if (length < 2 || i + std::size_t(length) > size)
            throw JpegError("a marker segment of " + std::to_string(length) +
                            " bytes runs past the end");
        if (!isFrameHeader(m)) {
            i += std::size_t(length);
            continue;
        }
        const std::uint8_t* s = data + i + 2;
        if (length < 8) throw JpegError("the frame header is too short");
        JpegFrameHeader h;
        h.coding = m == 0xF7 ? JpegFrameHeader::Coding::JpegLs
                   : (m == 0xC3 || m == 0xC7 || m == 0xCB || m == 0xCF)
                       ? JpegFrameHeader::Coding::Lossless
                       : JpegFrameHeader::Coding::Dct;
        h.arithmetic = m >= 0xC9 && m <= 0xCF;
        h.precision = s[0];
        h.height = be16(s + 1);
        h.width = be16(s + 3);
        h.components = s[5];
        if (h.width == 0 || h.components == 0)
            throw JpegError("the frame header declares an empty image");
        if (length < 8 + 3 * h.components)
            throw JpegError("the frame header lists " + std::to_string(h.components) +
                            " components in " + std::to_string(length) + " bytes");
        for (int c = 0; c < h.components; ++c) {
            const int hv = s[6 + 3 * c + 1];
            h.maxH = std::max(h.maxH, hv >> 4);
            h.maxV = std::max(h.maxV, hv & 15);
        }
        return h;
    }
}

std::uint64_t jpegMinimumBits(const JpegFrameHeader& h, int rows) {
    if (h.arithmetic) return 0;
    const std::uint64_t height = h.height > 0 ? std::uint64_t(h.height) : std::uint64_t(rows);
    const std::uint64_t width = std::uint64_t(h.width);
    switch (h.coding) {
        case JpegFrameHeader::Coding::Dct:
            return ceilDiv(width, 8ull * std::uint64_t(h.maxH)) *
                   ceilDiv(height, 8ull * std::uint64_t(h.maxV));
        case JpegFrameHeader::Coding::Lossless:
            return width * height;
        case JpegFrameHeader::Coding::JpegLs:
            return height;
    }
    return 0;
}

}  // namespace lucida
