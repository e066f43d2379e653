// DICOM through DCMTK. Headers are parsed at open (pixel values stay on disk: DCMTK loads large
// elements lazily), slice 0 is decoded eagerly so a broken file fails at open, and every other
// frame is decoded on first use and kept. DCMTK objects are not thread-safe: one mutex guards them
// and the frame cache.
#include "image/DicomSource.h"

#include "image/ImageError.h"
#include "image/RegionCopy.h"

#include <dcmtk/dcmdata/dccodec.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmdata/dcxfer.h>
#include <dcmtk/dcmimage/diregist.h>  // registers the colour image classes with DicomImage
#include <dcmtk/dcmimgle/dcmimage.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpls/djdecode.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>

namespace lucida {

namespace fs = std::filesystem;

namespace {

constexpr int kMaxFrames = 100000;
constexpr std::uint64_t kMaxFrameBytes = 1ull << 30;  // DCMTK's frame API counts in Uint32

void registerCodecsOnce() {
    static std::once_flag once;
    std::call_once(once, [] {
        DJDecoderRegistration::registerCodecs();
        DJLSDecoderRegistration::registerCodecs();
        DcmRLEDecoderRegistration::registerCodecs();
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

std::optional<double> getDouble(DcmItem* item, const DcmTagKey& tag, unsigned long pos = 0) {
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

    DcmDataset* ds() const { return dcm->getDataset(); }
    // Gray16 mapping: signed samples are shifted by 32768 when decoded.
    double storedIntercept() const { return isSigned ? intercept - 32768.0 * slope : intercept; }
};

DicomFile parseFile(const std::string& path) {
    registerCodecsOnce();
    DicomFile f;
    f.path = path;
    f.dcm = std::make_unique<DcmFileFormat>();
    const OFCondition load = f.dcm->loadFile(path.c_str());
    DcmDataset* ds = f.ds();
    DcmElement* pixelElement = nullptr;
    const bool hasPixels = ds->findAndGetElement(DCM_PixelData, pixelElement).good();
    if (load.bad()) {
        if (load == EC_StreamNotifyClient && hasPixels) {
            if (pixelElement->getLengthField() == DCM_UndefinedLength)  // encapsulated
                throw ImageError(path,
                                 "pixel data truncated: the file ends inside the "
                                 "compressed fragments");
            throw ImageError(path, truncationReason(path, pixelElement->getLength()));
        }
        throw ImageError(path, std::string("not a readable DICOM file: ") + load.text());
    }
    if (!hasPixels) throw ImageError(path, "no pixel data (not an image object)");
    f.xfer = ds->getOriginalXfer();
    // Without this check DCMTK reports a missing codec (e.g. JPEG 2000) as an unrelated error.
    if (DcmXfer(f.xfer).isEncapsulated() &&
        !DcmCodecList::canChangeCoding(f.xfer, EXS_LittleEndianExplicit))
        throw ImageError(path, std::string("unsupported compression: ") +
                                   DcmXfer(f.xfer).getXferName() + " (no DCMTK decoder)");
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
    if ((ba != 8 && ba != 16 && ba != 32) || bs == 0 || bs > ba || hb >= ba || hb + 1 < bs)
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
    if (mono && ba == 32)
        throw ImageError(path, "32-bit greyscale samples are not supported (Gray16 only)");

    // 4:2:2 subsampled YBR stores two samples per pixel when uncompressed.
    const bool subsampled =
        f.photometric.rfind("YBR", 0) == 0 && f.photometric.find("422") != std::string::npos;
    const std::uint64_t perPixel = subsampled ? 2 : spp;
    const std::uint64_t frameBytes = std::uint64_t(rows) * cols * perPixel * (ba / 8);
    if (frameBytes > kMaxFrameBytes)
        throw ImageError(path, "absurd dimensions: one frame would take " +
                                   std::to_string(frameBytes >> 20) + " MiB");
    if (!DcmXfer(f.xfer).isEncapsulated()) {
        const std::uint64_t expected = frameBytes * static_cast<std::uint64_t>(frames);
        if (pixelElement->getLength() < expected)
            throw ImageError(path, "pixel data truncated: expected " + std::to_string(expected) +
                                       " bytes, file has " +
                                       std::to_string(pixelElement->getLength()));
    }

    f.slope = getDouble(ds, DCM_RescaleSlope).value_or(1.0);
    f.intercept = getDouble(ds, DCM_RescaleIntercept).value_or(0.0);
    if (!ds->tagExists(DCM_RescaleSlope))
        if (DcmItem* t = functionalGroup(ds, DCM_PixelValueTransformationSequence, -1)) {
            f.slope = getDouble(t, DCM_RescaleSlope).value_or(1.0);
            f.intercept = getDouble(t, DCM_RescaleIntercept).value_or(0.0);
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
    return f;
}

struct Slice {
    std::size_t file;
    int frame;
};

struct Decoded {
    std::shared_ptr<const PixelBuffer> pixels;
    double minValue = 0, maxValue = 0;  // real values, Gray16 only
};

}  // namespace

struct DicomSource::Impl {
    ImageInfo info;
    std::vector<DicomFile> files;
    std::vector<Slice> slices;
    GrayMapping mapping;  // the image's; files with another one are re-mapped when decoded
    mutable std::mutex mutex;
    mutable std::map<int, Decoded> cache;

    const Decoded& decoded(int slice) const;  // caller holds mutex
    Decoded decode(const Slice& s) const;
    Decoded decodeGray(const DicomFile& f, int frame) const;
    Decoded decodeColour(const DicomFile& f, int frame) const;
    std::vector<Window> fileWindows(const Slice& s) const;
    Window autoWindow(const Decoded& d) const;
};

const Decoded& DicomSource::Impl::decoded(int slice) const {
    auto it = cache.find(slice);
    if (it == cache.end()) it = cache.emplace(slice, decode(slices.at(slice))).first;
    return it->second;
}

Decoded DicomSource::Impl::decode(const Slice& s) const {
    const DicomFile& f = files[s.file];
    return f.colour ? decodeColour(f, s.frame) : decodeGray(f, s.frame);
}

Decoded DicomSource::Impl::decodeGray(const DicomFile& f, int frame) const {
    DcmDataset* ds = f.ds();
    DcmElement* element = nullptr;
    if (ds->findAndGetElement(DCM_PixelData, element).bad())
        throw ImageError(f.path, "no pixel data");
    auto* pixelData = static_cast<DcmPixelData*>(element);
    Uint32 frameSize = 0;
    if (pixelData->getUncompressedFrameSize(ds, frameSize).bad() || frameSize == 0)
        throw ImageError(f.path, "cannot determine the frame size");
    std::vector<std::uint8_t> raw(frameSize);
    Uint32 startFragment = 0;
    OFString colourModel;
    const OFCondition c = pixelData->getUncompressedFrame(
        ds, static_cast<Uint32>(frame), startFragment, raw.data(), frameSize, colourModel);
    if (c.bad())
        throw ImageError(f.path, "cannot decode frame " + std::to_string(frame) + " (" +
                                     DcmXfer(f.xfer).getXferName() + "): " + c.text());

    // Stored bits sit at highBit-bitsStored+1 .. highBit of each sample; signed ones are
    // sign-extended, then shifted into uint16 range (see GrayMapping).
    const unsigned shift = static_cast<unsigned>(f.highBit + 1 - f.bitsStored);
    const std::uint32_t mask = (f.bitsStored >= 32) ? 0xFFFFFFFFu : ((1u << f.bitsStored) - 1);
    const std::uint32_t signBit = 1u << (f.bitsStored - 1);
    const double fileIntercept = f.storedIntercept();
    const bool remap = f.slope != mapping.slope || fileIntercept != mapping.intercept;

    PixelBuffer out(f.cols, f.rows, PixelFormat::Gray16);
    auto* dst = reinterpret_cast<std::uint16_t*>(out.bytes.data());
    const std::size_t n = std::size_t(f.rows) * f.cols;
    std::uint16_t lo = 0xFFFF, hi = 0;
    for (std::size_t i = 0; i < n; ++i) {
        std::uint32_t v;
        if (f.bitsAllocated == 8) {
            v = raw[i];
        } else {
            std::uint16_t s;
            std::memcpy(&s, raw.data() + 2 * i, 2);  // DCMTK hands frames in host byte order
            v = s;
        }
        v = (v >> shift) & mask;
        std::int32_t value = static_cast<std::int32_t>(v);
        if (f.isSigned && (v & signBit)) value -= static_cast<std::int32_t>(signBit) * 2;
        if (f.isSigned) value += 32768;
        if (remap) {  // another slice's modality LUT: express the same real value in ours
            const double real = value * f.slope + fileIntercept;
            value = static_cast<std::int32_t>(
                std::lround(std::clamp((real - mapping.intercept) / mapping.slope, 0.0, 65535.0)));
        }
        const auto stored = static_cast<std::uint16_t>(value);
        dst[i] = stored;
        lo = std::min(lo, stored);
        hi = std::max(hi, stored);
    }
    Decoded d;
    d.pixels = std::make_shared<const PixelBuffer>(std::move(out));
    const double a = mapping.toValue(lo), b = mapping.toValue(hi);
    d.minValue = std::min(a, b);
    d.maxValue = std::max(a, b);
    return d;
}

Decoded DicomSource::Impl::decodeColour(const DicomFile& f, int frame) const {
    // DicomImage knows every colour model (RGB, YBR_*, palette, planar layouts, 16-bit samples);
    // partial access makes it decode just this frame.
    DicomImage image(f.ds(), f.xfer, CIF_UsePartialAccessToPixelData,
                     static_cast<unsigned long>(frame), 1);
    if (image.getStatus() != EIS_Normal)
        throw ImageError(f.path, "cannot decode colour frame " + std::to_string(frame) + " (" +
                                     f.photometric + ", " + DcmXfer(f.xfer).getXferName() +
                                     "): " + DicomImage::getString(image.getStatus()));
    if (image.isMonochrome() || image.getWidth() != unsigned(f.cols) ||
        image.getHeight() != unsigned(f.rows))
        throw ImageError(f.path, "decoded colour frame does not match the header");
    const auto* rgb = static_cast<const std::uint8_t*>(image.getOutputData(8, 0, 0));
    if (!rgb)
        throw ImageError(f.path, "cannot decode colour frame " + std::to_string(frame) + ": " +
                                     DicomImage::getString(image.getStatus()));
    PixelBuffer out(f.cols, f.rows, PixelFormat::Rgba8);
    const std::size_t n = std::size_t(f.rows) * f.cols;
    for (std::size_t i = 0; i < n; ++i) {
        out.bytes[4 * i] = rgb[3 * i];
        out.bytes[4 * i + 1] = rgb[3 * i + 1];
        out.bytes[4 * i + 2] = rgb[3 * i + 2];
        out.bytes[4 * i + 3] = 255;
    }
    Decoded d;
    d.pixels = std::make_shared<const PixelBuffer>(std::move(out));
    return d;
}

std::vector<Window> DicomSource::Impl::fileWindows(const Slice& s) const {
    const DicomFile& f = files[s.file];
    if (f.colour) return {};
    if (DcmItem* voi = functionalGroup(f.ds(), DCM_FrameVOILUTSequence, s.frame)) {
        auto w = windowsIn(voi);
        if (!w.empty()) return w;
    }
    return windowsIn(f.ds());
}

Window DicomSource::Impl::autoWindow(const Decoded& d) const {
    // Computed from this slice only: the whole series would mean decoding every file at open.
    return {"Auto (min–max)", (d.minValue + d.maxValue) / 2,
            std::max(d.maxValue - d.minValue, std::abs(mapping.slope))};
}

namespace {

// Series order: position along the slice normal when every file has one, else InstanceNumber,
// else file name. Returns what was used, for the properties.
std::string sortFiles(std::vector<DicomFile>& files) {
    const bool positions = std::all_of(
        files.begin(), files.end(), [](const DicomFile& f) { return f.position && f.orientation; });
    const bool instances =
        std::all_of(files.begin(), files.end(), [](const DicomFile& f) { return f.instance; });
    auto byName = [](const DicomFile& a, const DicomFile& b) { return a.path < b.path; };
    if (positions) {
        const auto& o = *files.front().orientation;
        const std::array<double, 3> normal = {o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5],
                                              o[0] * o[4] - o[1] * o[3]};
        auto along = [&](const DicomFile& f) {
            const auto& p = *f.position;
            return p[0] * normal[0] + p[1] * normal[1] + p[2] * normal[2];
        };
        std::stable_sort(files.begin(), files.end(), [&](const DicomFile& a, const DicomFile& b) {
            const double da = along(a), db = along(b);
            if (da != db) return da < db;
            if (a.instance && b.instance && *a.instance != *b.instance)
                return *a.instance < *b.instance;
            return byName(a, b);
        });
        return "position along the slice normal";
    }
    if (instances) {
        std::stable_sort(files.begin(), files.end(), [&](const DicomFile& a, const DicomFile& b) {
            return *a.instance != *b.instance ? *a.instance < *b.instance : byName(a, b);
        });
        return "instance number";
    }
    std::stable_sort(files.begin(), files.end(), byName);
    return "file name";
}

std::string joinSkipped(const std::vector<std::pair<std::string, std::string>>& skipped) {
    std::string s;
    for (const auto& [name, reason] : skipped)
        s += (s.empty() ? "" : "; ") + name + " (" + reason + ")";
    return s;
}

// All DICOM image files of the folder's largest series; the rest are reported in `skipped` and
// `otherSeries`.
std::vector<DicomFile> loadSeries(const std::string& folder,
                                  std::vector<std::pair<std::string, std::string>>& skipped,
                                  std::vector<std::string>& otherSeries) {
    std::vector<fs::path> paths;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(folder, ec))
        if (entry.is_regular_file(ec) && entry.path().filename().string().front() != '.')
            paths.push_back(entry.path());
    if (ec) throw ImageError(folder, "cannot list folder: " + ec.message());
    std::sort(paths.begin(), paths.end());

    std::map<std::string, std::vector<DicomFile>> bySeries;
    std::string firstReason;
    for (const auto& p : paths) {
        const std::string name = p.filename().string();
        try {
            if (!hasDicmMagic(p) && !looksLikeBareDataset(p))
                throw ImageError(p.string(), "not a DICOM file (no 'DICM' at offset 128)");
            DicomFile f = parseFile(p.string());
            bySeries[f.seriesUid].push_back(std::move(f));
        } catch (const ImageError& e) {
            skipped.emplace_back(name, e.reason());
            if (firstReason.empty()) firstReason = name + ": " + e.reason();
        }
    }
    if (bySeries.empty())
        throw ImageError(folder, paths.empty()
                                     ? "folder holds no files"
                                     : "no DICOM image in the folder; first file " + firstReason);
    auto best = std::max_element(
        bySeries.begin(), bySeries.end(),
        [](const auto& a, const auto& b) { return a.second.size() < b.second.size(); });
    for (const auto& [uid, list] : bySeries)
        if (uid != best->first)
            otherSeries.push_back((uid.empty() ? "(no UID)" : uid) + " (" +
                                  std::to_string(list.size()) + " files)");
    std::vector<DicomFile> files;
    const DicomFile& ref = best->second.front();
    for (DicomFile& f : best->second) {
        if (f.rows != ref.rows || f.cols != ref.cols || f.colour != ref.colour) {
            skipped.emplace_back(fs::path(f.path).filename().string(),
                                 "size or colour differs from the rest of the series");
            continue;
        }
        files.push_back(std::move(f));
    }
    return files;
}

}  // namespace

DicomSource::DicomSource(const std::string& path) : impl_(std::make_unique<Impl>()) {
    registerCodecsOnce();
    Impl& m = *impl_;
    ImageInfo& info = m.info;
    info.path = path;
    std::error_code ec;
    const bool folder = fs::is_directory(path, ec);
    std::vector<std::pair<std::string, std::string>> skipped;
    std::vector<std::string> otherSeries;
    std::string order;
    if (folder) {
        m.files = loadSeries(path, skipped, otherSeries);
        order = sortFiles(m.files);
    } else {
        m.files.push_back(parseFile(path));
    }
    for (std::size_t i = 0; i < m.files.size(); ++i)
        for (int k = 0; k < m.files[i].frames; ++k) m.slices.push_back({i, k});
    if (m.slices.size() > std::size_t(kMaxFrames))
        throw ImageError(path, "absurd dimensions: " + std::to_string(m.slices.size()) + " slices");

    const DicomFile& first = m.files.front();
    DcmDataset* ds = first.ds();
    const std::string modality = getString(ds, DCM_Modality);
    const std::string syntax = DcmXfer(first.xfer).getXferName();
    info.levels = {Level{first.cols, first.rows, 1.0}};
    info.pixelFormat = first.colour ? PixelFormat::Rgba8 : PixelFormat::Gray16;
    info.sliceCount = static_cast<int>(m.slices.size());
    info.displayUnit = LengthUnit::Millimetre;
    info.format = folder ? "DICOM series (" + std::to_string(m.files.size()) + " files, " +
                               std::to_string(info.sliceCount) + " slices)"
                         : "DICOM (" + (modality.empty() ? "" : modality + ", ") + syntax + ")";

    // PixelSpacing is "row spacing\column spacing": the first is the vertical (Y) step.
    DcmItem* spacingItem = ds;
    const char* spacingSource = "PixelSpacing";
    DcmTagKey spacingTag = DCM_PixelSpacing;
    if (!getDouble(ds, DCM_PixelSpacing, 1)) {
        if (DcmItem* pm = functionalGroup(ds, DCM_PixelMeasuresSequence, 0);
            pm && getDouble(pm, DCM_PixelSpacing, 1)) {
            spacingItem = pm;
        } else {
            spacingTag = DCM_ImagerPixelSpacing;
            spacingSource = "ImagerPixelSpacing";
        }
    }
    auto rowSpacing = getDouble(spacingItem, spacingTag, 0);
    auto colSpacing = getDouble(spacingItem, spacingTag, 1);
    if (rowSpacing && colSpacing && *rowSpacing > 0 && *colSpacing > 0) {
        info.mppY = *rowSpacing * 1000.0;
        info.mppX = *colSpacing * 1000.0;
    } else {
        spacingSource = nullptr;
    }

    auto& props = info.properties;
    const std::pair<const char*, DcmTagKey> keys[] = {
        {"PatientName", DCM_PatientName},
        {"PatientID", DCM_PatientID},
        {"PatientBirthDate", DCM_PatientBirthDate},
        {"PatientSex", DCM_PatientSex},
        {"StudyDescription", DCM_StudyDescription},
        {"StudyDate", DCM_StudyDate},
        {"StudyInstanceUID", DCM_StudyInstanceUID},
        {"SeriesDescription", DCM_SeriesDescription},
        {"SeriesNumber", DCM_SeriesNumber},
        {"SeriesInstanceUID", DCM_SeriesInstanceUID},
        {"Modality", DCM_Modality},
        {"BodyPartExamined", DCM_BodyPartExamined},
        {"Manufacturer", DCM_Manufacturer},
        {"ManufacturerModelName", DCM_ManufacturerModelName},
        {"InstitutionName", DCM_InstitutionName},
        {"SliceThickness", DCM_SliceThickness},
        {"PixelSpacing", DCM_PixelSpacing},
        {"ImagerPixelSpacing", DCM_ImagerPixelSpacing},
        {"PhotometricInterpretation", DCM_PhotometricInterpretation},
        {"BitsAllocated", DCM_BitsAllocated},
        {"BitsStored", DCM_BitsStored},
        {"PixelRepresentation", DCM_PixelRepresentation},
        {"RescaleSlope", DCM_RescaleSlope},
        {"RescaleIntercept", DCM_RescaleIntercept},
        {"RescaleType", DCM_RescaleType},
        {"NumberOfFrames", DCM_NumberOfFrames},
    };
    for (const auto& [name, tag] : keys)
        if (std::string v = getString(ds, tag); !v.empty())
            props.emplace_back(std::string("dicom.") + name, v);
    props.emplace_back("dicom.TransferSyntax", syntax);
    props.emplace_back("dicom.photometric", first.photometric);
    if (spacingSource) props.emplace_back("dicom.spacing_source", spacingSource);
    if (folder) {
        props.emplace_back("dicom.series_files", std::to_string(m.files.size()));
        props.emplace_back("dicom.slice_order", order);
    }
    if (!skipped.empty()) props.emplace_back("dicom.skipped_files", joinSkipped(skipped));
    if (!otherSeries.empty()) {
        std::string s;
        for (const auto& o : otherSeries) s += (s.empty() ? "" : "; ") + o;
        props.emplace_back("dicom.other_series", s);
    }

    if (!first.colour) {
        m.mapping.slope = first.slope;
        m.mapping.intercept = first.storedIntercept();
        m.mapping.unit = getString(ds, DCM_RescaleType);
        if (m.mapping.unit.empty() || m.mapping.unit == "US")  // US: unspecified
            m.mapping.unit = modality == "CT" ? "HU" : "";
        info.grayMapping = m.mapping;
        const bool varies = std::any_of(m.files.begin(), m.files.end(), [&](const DicomFile& f) {
            return f.slope != first.slope || f.storedIntercept() != m.mapping.intercept;
        });
        if (varies)
            props.emplace_back("dicom.rescale_varies",
                               "slices re-mapped to the first slice's slope/intercept");
    }

    // Decode slice 0 now, so a truncated or corrupt file fails here, with its reason.
    std::lock_guard lock(m.mutex);
    const Decoded& d0 = m.decoded(0);
    if (!first.colour) {
        info.windows = m.fileWindows(m.slices[0]);
        info.windows.push_back(m.autoWindow(d0));
    }
}

DicomSource::~DicomSource() = default;

const ImageInfo& DicomSource::info() const { return impl_->info; }

PixelBuffer DicomSource::readRegion(int level, const Rect& rect, int slice) const {
    const Impl& m = *impl_;
    if (level != 0)
        throw ImageError(m.info.path, "DICOM images have one level; level " +
                                          std::to_string(level) + " requested");
    if (slice < 0 || slice >= m.info.sliceCount)
        throw ImageError(m.info.path, "slice " + std::to_string(slice) + " out of range (0.." +
                                          std::to_string(m.info.sliceCount - 1) + ")");
    if (rect.width < 0 || rect.height < 0 || rect.width > 1 << 16 || rect.height > 1 << 16)
        throw ImageError(m.info.path, "invalid region size " + std::to_string(rect.width) + "x" +
                                          std::to_string(rect.height));
    std::shared_ptr<const PixelBuffer> pixels;
    {
        std::lock_guard lock(m.mutex);
        pixels = m.decoded(slice).pixels;
    }
    return copyRegion(*pixels, rect);  // outside the lock: the buffer is immutable once cached
}

std::vector<Window> DicomSource::windowsForSlice(int slice) const {
    const Impl& m = *impl_;
    if (m.info.pixelFormat != PixelFormat::Gray16) return {};
    if (slice < 0 || slice >= m.info.sliceCount) return m.info.windows;
    std::lock_guard lock(m.mutex);
    std::vector<Window> w = m.fileWindows(m.slices[slice]);
    w.push_back(m.autoWindow(m.decoded(slice)));  // decodes the slice if it was not yet
    return w;
}

ImageFormat DicomSource::format() {
    ImageFormat f;
    f.name = "DICOM";
    f.extensions = {"dcm", "dicom"};
    f.recognises = [](const FileProbe& probe) {
        if (!probe.isDirectory) return probe.startsWith("DICM", 4, 128);
        // Cheap: the magic of each file, stopping at the first hit.
        std::error_code ec;
        for (const auto& entry : fs::directory_iterator(probe.path, ec))
            if (entry.is_regular_file(ec) && hasDicmMagic(entry.path())) return true;
        return false;
    };
    f.open = [](const FileProbe& probe) -> std::unique_ptr<ImageSource> {
        return std::make_unique<DicomSource>(probe.path);
    };
    return f;
}

}  // namespace lucida
