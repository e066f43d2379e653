#include "image/DicomRle.h"

#include <string>

namespace lucida {

namespace {

std::uint32_t le32(const std::uint8_t* p) {
    return std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 | std::uint32_t(p[2]) << 16 |
           std::uint32_t(p[3]) << 24;
}

constexpr std::size_t kHeaderBytes = 64;
constexpr std::uint32_t kMaxSegments = 15;

// One PackBits segment into `out` (exactly `n` bytes, every `stride`-th from `out`). Encoders may
// pad a segment to even length, so output past `n` is ignored; output short of `n` is an error.
void unpackSegment(const std::uint8_t* in, std::size_t size, std::uint8_t* out, std::size_t n,
                   std::size_t stride, std::uint32_t segment) {
    std::size_t i = 0, written = 0;
    while (i < size && written < n) {
        const auto header = static_cast<std::int8_t>(in[i++]);
        if (header >= 0) {  // copy the next header + 1 bytes literally
            const std::size_t count = std::size_t(header) + 1;
            if (count > size - i)
                throw RleError("segment " + std::to_string(segment) +
                               ": a literal run goes past the segment's end");
            for (std::size_t k = 0; k < count && written < n; ++k)
                out[(written++) * stride] = in[i + k];
            i += count;
        } else if (header != -128) {  // repeat the next byte 1 - header times
            if (i >= size)
                throw RleError("segment " + std::to_string(segment) +
                               ": a repeat run has no byte to repeat");
            const std::size_t count = std::size_t(1 - int(header));
            const std::uint8_t value = in[i++];
            for (std::size_t k = 0; k < count && written < n; ++k)
                out[(written++) * stride] = value;
        }
    }
    if (written < n)
        throw RleError("segment " + std::to_string(segment) + " decodes to " +
                       std::to_string(written) + " bytes, the frame needs " + std::to_string(n));
}

}  // namespace

bool looksLikeRleFrame(const std::uint8_t* data, std::size_t size) {
    if (size < kHeaderBytes) return false;
    const std::uint32_t segments = le32(data);
    return segments >= 1 && segments <= kMaxSegments && le32(data + 4) == kHeaderBytes;
}

std::vector<std::uint8_t> decodeDicomRle(const std::uint8_t* data, std::size_t size, int rows,
                                         int cols, int samples, int bytesPerSample) {
    if (rows <= 0 || cols <= 0 || samples <= 0 || bytesPerSample <= 0)
        throw RleError("invalid frame geometry");
    if (!data || size < kHeaderBytes)
        throw RleError("fragment of " + std::to_string(size) +
                       " bytes is shorter than the 64-byte RLE header");
    const std::uint32_t segments = le32(data);
    const std::uint64_t expected = std::uint64_t(samples) * std::uint64_t(bytesPerSample);
    if (segments != expected)
        throw RleError("header names " + std::to_string(segments) + " segments, " +
                       std::to_string(samples) + " samples of " + std::to_string(bytesPerSample) +
                       " bytes need " + std::to_string(expected));
    if (segments > kMaxSegments) throw RleError("more than 15 segments");
    std::uint32_t offsets[kMaxSegments + 1];
    for (std::uint32_t s = 0; s < segments; ++s) {
        offsets[s] = le32(data + 4 + 4 * s);
        const std::uint32_t lower = s == 0 ? std::uint32_t(kHeaderBytes) : offsets[s - 1];
        if (offsets[s] < lower || offsets[s] > size)
            throw RleError("segment " + std::to_string(s) + " starts at byte " +
                           std::to_string(offsets[s]) + ", outside " + std::to_string(lower) +
                           ".." + std::to_string(size));
    }
    offsets[segments] = static_cast<std::uint32_t>(size);

    const std::size_t pixels = std::size_t(rows) * std::size_t(cols);
    // PackBits turns two bytes into at most 128: a segment too short for its plane is refused
    // before the frame is allocated (a few kilobytes may declare a gigabyte frame).
    for (std::uint32_t s = 0; s < segments; ++s)
        if (std::uint64_t(offsets[s + 1] - offsets[s]) * 64 < pixels)
            throw RleError("segment " + std::to_string(s) + " holds " +
                           std::to_string(offsets[s + 1] - offsets[s]) +
                           " bytes, which expand to " + "at most " +
                           std::to_string(std::uint64_t(offsets[s + 1] - offsets[s]) * 64) +
                           ", the frame needs " + std::to_string(pixels));
    const std::size_t planeBytes = pixels * std::size_t(bytesPerSample);
    std::vector<std::uint8_t> out(planeBytes * std::size_t(samples));
    for (std::uint32_t s = 0; s < segments; ++s) {
        const std::size_t sample = s / std::uint32_t(bytesPerSample);
        // Segments hold the most significant byte first; the output is little-endian.
        const std::size_t byte =
            std::size_t(bytesPerSample) - 1 - s % std::uint32_t(bytesPerSample);
        unpackSegment(data + offsets[s], offsets[s + 1] - offsets[s],
                      out.data() + sample * planeBytes + byte, pixels, std::size_t(bytesPerSample),
                      s);
    }
    return out;
}

}  // namespace lucida
