#pragma once
// Decoding one frame of a parsed DICOM file: uncompressed and DCMTK-decoded frames as raw samples,
// RLE by DicomRle, JPEG 2000 through OpenJPEG. Internal to core/image.
#include "image/DicomFile.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace lucida::dicom {

// Bytes per decoded sample in a raw frame: 1-bit samples are unpacked to one byte each.
inline int rawBytesPerSample(const DicomFile& f) {
    return f.bitsAllocated == 1 ? 1 : f.bitsAllocated / 8;
}

// Sample `i` of a raw greyscale frame: the stored bits (highBit-bitsStored+1 .. highBit),
// sign-extended for signed data.
std::int64_t sampleAt(const DicomFile& f, const std::uint8_t* raw, std::size_t i);

struct J2kFrame {
    int components = 0, precision = 0;
    bool isSigned = false;
    std::vector<std::int32_t> samples;  // interleaved, rows * cols * components
};

// JPEG 2000 frame `frame` through OpenJPEG, checked against the DICOM header.
J2kFrame decodeJpeg2000(const DicomFile& f, int frame);

// A dataset with `f`'s header and RLE frame `frame` as uncompressed pixel data (colour-by-plane),
// for DicomImage's colour models.
std::unique_ptr<DcmDataset> uncompressedRleFrame(const DicomFile& f, int frame);

// A JPEG-family frame (baseline, extended, lossless, JPEG-LS) checked before DCMTK decodes it:
// its codestream's frame header must match the DICOM header, and its bytes must be able to hold
// the frame (ImageError naming the reason); other transfer syntaxes pass.
void checkJpegFrame(const DicomFile& f, int frame);

// One greyscale frame's samples as DCMTK hands them: host byte order, rawBytesPerSample() each.
std::vector<std::uint8_t> rawFrame(const DicomFile& f, int frame);

}  // namespace lucida::dicom
