// DICOM headers through DCMTK: parsing and validating one file, with the fallbacks some writers
// need (implicit VR under an explicit-VR meta header, RT dose scaling, 32-bit samples).
#include "image/DicomFile.h"

#include "image/DicomFrames.h"
#include "image/ImageError.h"
#include "image/ImageLimits.h"

#include <dcmtk/dcmdata/dccodec.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcistrmf.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpls/djdecode.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <fstream>
#include <mutex>
#include <numeric>

namespace lucida::dicom {

namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t kMaxFrameBytes = 1ull << 30;  // DCMTK's frame API counts in Uint32

// Best-effort diagnostic for a file that ends inside its pixel data: finds the Pixel Data tag
// near the end and counts the bytes that follow its header.
std::string truncationReason(const std::string& path, std::uint64_t declared) {
    std::error_code ec;
    const auto size = fs::file_size(path, ec);
    std::string reason = "pixel data truncated: expected " + std::to_string(declared) + " bytes";
    if (ec || size > (256u << 20)) return reason + ", the file ends before them";
    std::ifstream in(path, std::ios::binary);
    std::vector<unsigned char> b(size);
    in.read(reinterpret_cast<char*>(b.data()), static_cast<std::streamsize>(size));
    for (std::size_t i = size >= 8 ? size - 8 : 0; i-- > 0;) {
        const bool le = b[i] == 0xE0 && b[i + 1] == 0x7F && b[i + 2] == 0x10 && b[i + 3] == 0x00;
        const bool be = b[i] == 0x7F && b[i + 1] == 0xE0 && b[i + 2] == 0x00 && b[i + 3] == 0x10;
        if (!le && !be) continue;
        const bool explicitVr = i + 12 <= size && (b[i + 4] == 'O' || b[i + 4] == 'U');
        const std::size_t start = i + (explicitVr ? 12 : 8);
        if (start > size) break;
        return reason + ", file has " + std::to_string(size - start);
    }
    return reason + ", the file ends before them";
}

// 32-bit greyscale: the smallest value and the step that maps every value into 16 bits.
void chooseWideMapping(DicomFile& f) {
    std::int64_t lo = INT64_MAX, hi = INT64_MIN;
    const std::size_t n = std::size_t(f.rows) * f.cols;
    for (int k = 0; k < f.frames; ++k) {
        const std::vector<std::uint8_t> raw = rawFrame(f, k);
        for (std::size_t i = 0; i < n; ++i) {
            const std::int64_t v = sampleAt(f, raw.data(), i);
            lo = std::min(lo, v);
            hi = std::max(hi, v);
        }
    }
    std::int64_t g = 0;
    for (int k = 0; k < f.frames && g != 1; ++k) {
        const std::vector<std::uint8_t> raw = rawFrame(f, k);
        for (std::size_t i = 0; i < n && g != 1; ++i)
            g = std::gcd(g, sampleAt(f, raw.data(), i) - lo);
    }
    f.base = lo;
    const std::int64_t range = hi - lo;
    if (g > 0 && range / g <= 65535)
        f.step = g;
    else
        f.step = std::max<std::int64_t>(1, (range + 65534) / 65535), f.quantised = true;
}

// True when the file's meta header names an explicit-VR transfer syntax but its dataset is written
// in implicit VR (some writers do this; pydicom reads them). Returns the dataset's offset.
std::optional<std::uint64_t> implicitDatasetAfterExplicitMeta(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    unsigned char b[144];
    if (!in.read(reinterpret_cast<char*>(b), sizeof b)) return std::nullopt;
    // (0002,0000) UL 4 <group length>, right after the preamble and "DICM".
    if (std::memcmp(b + 128, "DICM", 4) != 0 || b[132] != 0x02 || b[133] != 0 || b[134] != 0 ||
        b[135] != 0 || b[136] != 'U' || b[137] != 'L')
        return std::nullopt;
    const std::uint32_t groupLength =
        b[140] | (b[141] << 8) | (b[142] << 16) | (unsigned(b[143]) << 24);
    const std::uint64_t offset = 144ull + groupLength;
    unsigned char e[8];
    in.seekg(static_cast<std::streamoff>(offset));
    if (!in.read(reinterpret_cast<char*>(e), sizeof e)) return std::nullopt;
    const bool vrLetters = std::isupper(e[4]) && std::isupper(e[5]);
    if (vrLetters || e[0] != 0x08 || e[1] != 0) return std::nullopt;  // explicit, or not group 8
    return offset;
}

// Reads the dataset at `offset` as Implicit VR Little Endian, and gives its encapsulated pixel
// data the compression the meta header names.
OFCondition loadImplicitDataset(DcmFileFormat& file, const std::string& path, std::uint64_t offset,
                                E_TransferSyntax compressed) {
    DcmInputFileStream in(path.c_str());
    if (in.status().bad()) return in.status();
    in.skip(static_cast<offile_off_t>(offset));
    DcmDataset* ds = file.getDataset();
    ds->clear();
    ds->transferInit();
    OFCondition c = ds->read(in, EXS_LittleEndianImplicit);
    ds->transferEnd();
    if (c.bad()) return c;
    DcmElement* element = nullptr;
    if (DcmXfer(compressed).isEncapsulated() &&
        ds->findAndGetElement(DCM_PixelData, element).good() &&
        element->getLengthField() == DCM_UndefinedLength) {
        auto* pixels = dynamic_cast<DcmPixelData*>(element);
        DcmPixelSequence* seq = nullptr;
        if (!pixels ||
            pixels->getEncapsulatedRepresentation(EXS_LittleEndianImplicit, nullptr, seq).bad() ||
            !seq)
            return EC_CorruptedData;
        pixels->putOriginalRepresentation(compressed, nullptr, new DcmPixelSequence(*seq));
    }
    return EC_Normal;
}

}  // namespace

void registerCodecsOnce() {
    static std::once_flag once;
    std::call_once(once, [] {
        DJDecoderRegistration::registerCodecs();
        DJLSDecoderRegistration::registerCodecs();
        // Elements written with VR UN (e.g. Modality in pydicom's rtdose_rle.dcm) are read with
        // their dictionary VR, as pydicom does.
        dcmEnableUnknownVRConversion.set(OFTrue);
    });
}

bool hasDicmMagic(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    char buf[132];
    if (!in.read(buf, sizeof buf)) return false;
    return std::memcmp(buf + 128, "DICM", 4) == 0;
}

// A file without preamble may still be a bare dataset; those start with group 0000, 0002 or 0008
// (in either byte order). Anything else is not worth handing to the parser.
bool looksLikeBareDataset(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    unsigned char b[2];
    if (!in.read(reinterpret_cast<char*>(b), 2)) return false;
    const unsigned le = b[0] | (b[1] << 8), be = (b[0] << 8) | b[1];
    for (unsigned g : {0x0000u, 0x0002u, 0x0008u})
        if (le == g || be == g) return true;
    return false;
}

std::string getString(DcmItem* item, const DcmTagKey& tag) {
    OFString s;
    if (item->findAndGetOFStringArray(tag, s).good()) return std::string(s.c_str());
    return {};
}

std::optional<double> getDouble(DcmItem* item, const DcmTagKey& tag, unsigned long pos) {
    Float64 v;
    if (item->findAndGetFloat64(tag, v, pos).good() && std::isfinite(v)) return v;
    return std::nullopt;
}

std::optional<long> getInt(DcmItem* item, const DcmTagKey& tag) {
    Sint32 v;
    if (item->findAndGetSint32(tag, v).good()) return v;
    if (auto d = getDouble(item, tag)) return static_cast<long>(*d);  // IS read as string
    return std::nullopt;
}

// Enhanced multi-frame objects keep spacing, rescale and windows in functional groups: the frame's
// own item first, then the shared one.
DcmItem* functionalGroup(DcmItem* ds, const DcmTagKey& macro, long frame) {
    DcmItem* group = nullptr;
    DcmItem* inner = nullptr;
    if (frame >= 0 &&
        ds->findAndGetSequenceItem(DCM_PerFrameFunctionalGroupsSequence, group, frame).good() &&
        group->findAndGetSequenceItem(macro, inner, 0).good())
        return inner;
    if (ds->findAndGetSequenceItem(DCM_SharedFunctionalGroupsSequence, group, 0).good() &&
        group->findAndGetSequenceItem(macro, inner, 0).good())
        return inner;
    return nullptr;
}

std::vector<Window> windowsIn(DcmItem* item) {
    std::vector<Window> out;
    if (!item) return out;
    for (unsigned long i = 0;; ++i) {
        auto c = getDouble(item, DCM_WindowCenter, i);
        auto w = getDouble(item, DCM_WindowWidth, i);
        if (!c || !w) break;
        if (*w <= 0) continue;  // invalid per PS3.3 C.11.2.1.2; showing it would blank the image
        OFString name;
        std::string n =
            item->findAndGetOFString(DCM_WindowCenterWidthExplanation, name, i).good() &&
                    !name.empty()
                ? std::string(name.c_str())
                : "File " + std::to_string(i + 1);
        out.push_back({n, *c, *w});
    }
    return out;
}

namespace {

// A frame within the whole-frame pixel limit and DCMTK's 32-bit frame API, and uncompressed pixel
// data long enough for every frame. 4:2:2 subsampled YBR stores two samples per pixel when
// uncompressed; 1-bit frames are packed back to back, without padding.
void checkFrameSize(const DicomFile& f, DcmElement* pixelElement) {
    const std::uint64_t rows = std::uint64_t(f.rows), cols = std::uint64_t(f.cols);
    const std::uint64_t frames = std::uint64_t(f.frames);
    const bool subsampled =
        f.photometric.rfind("YBR", 0) == 0 && f.photometric.find("422") != std::string::npos;
    const std::uint64_t perPixel = subsampled ? 2 : std::uint64_t(f.samples);
    const std::uint64_t frameBytes =
        f.bitsAllocated == 1 ? (rows * cols + 7) / 8
                             : rows * cols * perPixel * std::uint64_t(f.bitsAllocated / 8);
    if (std::int64_t(rows * cols) > maxImagePixels())
        throw ImageError(f.path, "frames of " + std::to_string(cols) + "x" + std::to_string(rows) +
                                     " pixels are " + imagePixelLimitText());
    if (frameBytes > kMaxFrameBytes)
        throw ImageError(f.path, "absurd dimensions: one frame would take " +
                                     std::to_string(frameBytes >> 20) + " MiB");
    if (DcmXfer(f.xfer).isEncapsulated()) return;
    const std::uint64_t expected =
        f.bitsAllocated == 1 ? (rows * cols * frames + 7) / 8 : frameBytes * frames;
    if (pixelElement->getLength() < expected)
        throw ImageError(f.path, "pixel data truncated: expected " + std::to_string(expected) +
                                     " bytes, file has " +
                                     std::to_string(pixelElement->getLength()));
}

}  // namespace

DicomFile parseFile(const std::string& path) {
    registerCodecsOnce();
    DicomFile f;
    f.path = path;
    f.dcm = std::make_unique<DcmFileFormat>();
    // A dataset written in implicit VR under a meta header naming an explicit-VR syntax: the meta
    // header alone first, then the dataset as implicit VR (DCMTK would misparse it as explicit).
    OFCondition load = EC_Normal;
    bool implicitFallback = false;
    // A deflated dataset is inflated by DCMTK as it parses, and an element's declared length is
    // allocated before its bytes are read: a few kilobytes could ask for gigabytes (found by
    // fuzz_image_dicom). Deflate is a syntax for non-image objects; refused with the reason.
    {
        DcmFileFormat meta;
        OFString uid;
        if (meta.loadFile(path.c_str(), EXS_Unknown, EGL_noChange, DCM_MaxReadLength, ERM_metaOnly)
                .good() &&
            meta.getMetaInfo()->findAndGetOFString(DCM_TransferSyntaxUID, uid).good() &&
            DcmXfer(uid.c_str()).getXfer() == EXS_DeflatedLittleEndianExplicit)
            throw ImageError(path, "deflated transfer syntax (" + std::string(uid.c_str()) +
                                       ") is not supported for images");
    }
    if (const auto offset = implicitDatasetAfterExplicitMeta(path)) {
        OFString uid;
        if (f.dcm
                ->loadFile(path.c_str(), EXS_Unknown, EGL_noChange, DCM_MaxReadLength, ERM_metaOnly)
                .good() &&
            f.dcm->getMetaInfo()->findAndGetOFString(DCM_TransferSyntaxUID, uid).good()) {
            const E_TransferSyntax meta = DcmXfer(uid.c_str()).getXfer();
            if (meta != EXS_Unknown && DcmXfer(meta).isExplicitVR()) {
                f.xfer = meta;
                load = loadImplicitDataset(*f.dcm, path, *offset, meta);
                implicitFallback = true;
            }
        }
    }
    if (!implicitFallback) {
        f.dcm = std::make_unique<DcmFileFormat>();
        load = f.dcm->loadFile(path.c_str());
        f.xfer = f.ds()->getOriginalXfer();
    }
    DcmDataset* ds = f.ds();
    DcmElement* pixelElement = nullptr;
    const bool hasPixels = ds->findAndGetElement(DCM_PixelData, pixelElement).good();
    if (load.bad()) {
        if (load == EC_StreamNotifyClient && hasPixels) {
            if (pixelElement->getLengthField() == DCM_UndefinedLength)  // encapsulated
                throw ImageError(path,
                                 "pixel data truncated: the file ends inside the "
                                 "compressed fragments");
            // The length field: getLength() of a string-typed element loads it (fuzzed: 4 GB).
            throw ImageError(path, truncationReason(path, pixelElement->getLengthField()));
        }
        throw ImageError(path, std::string("not a readable DICOM file: ") + load.text());
    }
    if (!hasPixels) throw ImageError(path, "no pixel data (not an image object)");
    // Without this check DCMTK reports a missing codec as an unrelated error. JPEG 2000 is
    // decoded here with OpenJPEG, RLE by DicomRle (DCMTK's RLE decoder is not registered: it
    // reads out of bounds on damaged files).
    if (DcmXfer(f.xfer).isEncapsulated() && !f.jpeg2000() && !f.rle() &&
        !DcmCodecList::canChangeCoding(f.xfer, EXS_LittleEndianExplicit))
        throw ImageError(path, std::string("unsupported compression: ") +
                                   DcmXfer(f.xfer).getXferName() + " (no decoder)");
    if (!ds->tagExists(DCM_Rows) || !ds->tagExists(DCM_Columns))
        throw ImageError(path, "no Rows/Columns: not a valid image header");

    Uint16 rows = 0, cols = 0, spp = 1, ba = 0, bs = 0, hb = 0, pr = 0;
    ds->findAndGetUint16(DCM_Rows, rows);
    ds->findAndGetUint16(DCM_Columns, cols);
    ds->findAndGetUint16(DCM_SamplesPerPixel, spp);
    ds->findAndGetUint16(DCM_BitsAllocated, ba);
    if (ds->findAndGetUint16(DCM_BitsStored, bs).bad()) bs = ba;
    if (ds->findAndGetUint16(DCM_HighBit, hb).bad()) hb = bs ? bs - 1 : 0;
    ds->findAndGetUint16(DCM_PixelRepresentation, pr);
    const long frames = getInt(ds, DCM_NumberOfFrames).value_or(1);
    if (rows == 0 || cols == 0 || frames < 1 || frames > kMaxFrames || (spp != 1 && spp != 3))
        throw ImageError(path, "absurd dimensions: " + std::to_string(cols) + "x" +
                                   std::to_string(rows) + ", " + std::to_string(frames) +
                                   " frames, " + std::to_string(spp) + " samples per pixel");
    if ((ba != 1 && ba != 8 && ba != 16 && ba != 32) || bs == 0 || bs > ba || hb >= ba ||
        hb + 1 < bs)
        throw ImageError(path, "unsupported bit layout: allocated " + std::to_string(ba) +
                                   ", stored " + std::to_string(bs) + ", high bit " +
                                   std::to_string(hb));
    f.rows = rows, f.cols = cols, f.frames = static_cast<int>(frames), f.samples = spp;
    f.bitsAllocated = ba, f.bitsStored = bs, f.highBit = hb, f.isSigned = pr == 1;
    f.photometric = getString(ds, DCM_PhotometricInterpretation);
    const bool mono = f.photometric == "MONOCHROME1" || f.photometric == "MONOCHROME2";
    f.colour = !mono;
    if (mono && spp != 1)
        throw ImageError(path, f.photometric + " with " + std::to_string(spp) + " samples");
    if (ba == 1 && (!mono || DcmXfer(f.xfer).isEncapsulated()))
        throw ImageError(path, "1-bit samples are supported for uncompressed greyscale only");
    if (f.jpeg2000() && ba == 32)
        throw ImageError(path, "32-bit JPEG 2000 samples are not supported");

    checkFrameSize(f, pixelElement);

    f.slope = getDouble(ds, DCM_RescaleSlope).value_or(1.0);
    f.intercept = getDouble(ds, DCM_RescaleIntercept).value_or(0.0);
    if (!ds->tagExists(DCM_RescaleSlope)) {
        if (DcmItem* t = functionalGroup(ds, DCM_PixelValueTransformationSequence, -1)) {
            f.slope = getDouble(t, DCM_RescaleSlope).value_or(1.0);
            f.intercept = getDouble(t, DCM_RescaleIntercept).value_or(0.0);
        } else if (auto dose = getDouble(ds, DCM_DoseGridScaling); dose && *dose > 0) {
            f.slope = *dose;  // RT Dose: the values are in DoseUnits once scaled
            const std::string units = getString(ds, DCM_DoseUnits);
            f.unit = units == "GY" ? "Gy" : units == "RELATIVE" ? "relative" : units;
        }
    }
    if (f.slope == 0.0) f.slope = 1.0;  // a zero slope would collapse every value

    f.seriesUid = getString(ds, DCM_SeriesInstanceUID);
    std::array<double, 3> pos;
    std::array<double, 6> ori;
    bool okPos = true, okOri = true;
    for (unsigned long i = 0; i < 3; ++i) {
        auto v = getDouble(ds, DCM_ImagePositionPatient, i);
        okPos = okPos && v;
        pos[i] = v.value_or(0);
    }
    for (unsigned long i = 0; i < 6; ++i) {
        auto v = getDouble(ds, DCM_ImageOrientationPatient, i);
        okOri = okOri && v;
        ori[i] = v.value_or(0);
    }
    if (okPos) f.position = pos;
    if (okOri) f.orientation = ori;
    f.instance = getInt(ds, DCM_InstanceNumber);
    if (f.wide()) chooseWideMapping(f);
    return f;
}

}  // namespace lucida::dicom
