#pragma once
// DICOM RLE Lossless (PS3.5 Annex G), decoded here rather than by DCMTK: DCMTK 3.6.7's decoder
// reads outside its buffer on damaged segment offsets (found by fuzz_image_dicom). Every offset
// and run is checked against the fragment and the expected frame size.

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>

namespace lucida {

struct RleError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Decodes one RLE frame (`size` bytes: the 64-byte header and its segments) of `rows` x `cols`
// pixels with `samples` samples of `bytesPerSample` bytes each. The result is colour-by-plane
// (all of sample 0, then sample 1, ...) with each sample in little-endian byte order:
// rows * cols * samples * bytesPerSample bytes. Throws RleError naming what is wrong.
std::vector<std::uint8_t> decodeDicomRle(const std::uint8_t* data, std::size_t size, int rows,
                                         int cols, int samples, int bytesPerSample);

// True when `data` begins like an RLE frame header (1-15 segments, the first at byte 64): how
// frames are found among fragments when the file gives no offset table.
bool looksLikeRleFrame(const std::uint8_t* data, std::size_t size);

}  // namespace lucida
