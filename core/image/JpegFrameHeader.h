#pragma once
// The frame header (SOF) of a JPEG or JPEG-LS codestream, read without decoding, so a DICOM frame
// can be checked against its header, and against the bytes it has, before a decoder allocates and
// fills the whole frame (a few kilobytes declaring 16000 x 16000 took 38 s to decode under
// AddressSanitizer; DCMTK pads a smaller codestream to the DICOM size without complaint).
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace lucida {

struct JpegError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct JpegFrameHeader {
    enum class Coding { Dct, Lossless, JpegLs };
    Coding coding = Coding::Dct;
    bool arithmetic = false;  // SOF9-15: DCMTK's decoder has none; no size bound is derived
    int precision = 0;
    int width = 0, height = 0;  // height 0: given later by a DNL marker
    int components = 0;
    int maxH = 1, maxV = 1;  // largest sampling factors
};

// The first frame header of the codestream `data` (which starts with SOI), or JpegError with the
// reason: no SOI, a marker segment past the end, a scan before any frame header, an invalid SOF.
JpegFrameHeader readJpegFrameHeader(const std::uint8_t* data, std::size_t size);

// The fewest bits any valid Huffman-coded codestream with this header spends on its first scan:
// a DCT frame at least one bit per MCU (its first block's DC code), a lossless one per sample, a
// JPEG-LS one per line. 0 for arithmetic coding (no bound).
std::uint64_t jpegMinimumBits(const JpegFrameHeader& h, int rows);

}  // namespace lucida
