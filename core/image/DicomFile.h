#pragma once
// One parsed DICOM file (header values and the DCMTK object that decodes its frames) and the
// header-reading helpers shared by the DICOM source, its frame decoders and its series scan.
// Internal to core/image.
#include "image/ImageSource.h"

#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcxfer.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace lucida::dicom {

inline constexpr int kMaxFrames = 100000;

// One parsed file: its header values, and the DCMTK object that can decode its frames.
struct DicomFile {
    std::string path;
    std::unique_ptr<DcmFileFormat> dcm;
    E_TransferSyntax xfer = EXS_Unknown;
    int rows = 0, cols = 0, frames = 1, samples = 1;
    int bitsAllocated = 0, bitsStored = 0, highBit = 0;
    bool isSigned = false, colour = false;
    std::string photometric, seriesUid;
    double slope = 1.0, intercept = 0.0;  // as in the file (signed values unshifted)
    std::optional<std::array<double, 3>> position;
    std::optional<std::array<double, 6>> orientation;
    std::optional<long> instance;
    std::string unit;  // of the real values when the file says (RT dose: DoseUnits)
    // 32-bit greyscale does not fit Gray16: stored = (value - base) / step, with step the
    // greatest common divisor of the values' distances from the smallest (exact) when that fits
    // 16 bits, else the smallest step that does (quantised; see dicom.value_step).
    std::int64_t base = 0, step = 1;
    bool quantised = false;

    DcmDataset* ds() const { return dcm->getDataset(); }
    bool wide() const { return !colour && bitsAllocated == 32; }
    bool rle() const { return xfer == EXS_RLELossless; }
    bool jpeg2000() const {
        return xfer == EXS_JPEG2000LosslessOnly || xfer == EXS_JPEG2000 ||
               xfer == EXS_JPEG2000MulticomponentLosslessOnly || xfer == EXS_JPEG2000Multicomponent;
    }
    // Real value of a decoded Gray16 sample = stored * mapSlope() + mapIntercept(). Signed 16-bit
    // samples are shifted by 32768 when decoded.
    double mapSlope() const { return wide() ? slope * double(step) : slope; }
    double mapIntercept() const {
        if (wide()) return slope * double(base) + intercept;
        return isSigned ? intercept - 32768.0 * slope : intercept;
    }
};

// DCMTK's JPEG and JPEG-LS decoders, registered once per process.
void registerCodecsOnce();

bool hasDicmMagic(const std::filesystem::path& file);
// A file without preamble may still be a bare dataset; those start with group 0000, 0002 or 0008
// (in either byte order). Anything else is not worth handing to the parser.
bool looksLikeBareDataset(const std::filesystem::path& file);

std::string getString(DcmItem* item, const DcmTagKey& tag);
std::optional<double> getDouble(DcmItem* item, const DcmTagKey& tag, unsigned long pos = 0);
std::optional<long> getInt(DcmItem* item, const DcmTagKey& tag);
// Enhanced multi-frame objects keep spacing, rescale and windows in functional groups: the frame's
// own item first, then the shared one.
DcmItem* functionalGroup(DcmItem* ds, const DcmTagKey& macro, long frame);
// The VOI windows an item lists (invalid widths left out).
std::vector<Window> windowsIn(DcmItem* item);

// Parses one file's header (pixel values stay on disk); throws ImageError with the reason.
DicomFile parseFile(const std::string& path);

}  // namespace lucida::dicom
