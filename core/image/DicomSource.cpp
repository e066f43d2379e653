// DICOM through DCMTK. Headers are parsed at open (pixel values stay on disk: DCMTK loads large
// elements lazily), slice 0 is decoded eagerly so a broken file fails at open, and every other
// frame is decoded on first use and kept. DCMTK objects are not thread-safe: one mutex guards them
// and the frame cache.
#include "image/DicomSource.h"

#include "image/DicomRle.h"
#include "image/ImageError.h"
#include "image/RegionCopy.h"

#include <dcmtk/dcmdata/dccodec.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcistrmf.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>
#include <dcmtk/dcmdata/dcxfer.h>
#include <dcmtk/dcmimage/diregist.h>  // registers the colour image classes with DicomImage
#include <dcmtk/dcmimgle/dcmimage.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpls/djdecode.h>
#include <openjpeg.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <numeric>

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

// Bytes per decoded sample in a raw frame: 1-bit samples are unpacked to one byte each.
int rawBytesPerSample(const DicomFile& f) { return f.bitsAllocated == 1 ? 1 : f.bitsAllocated / 8; }

// Sample `i` of a raw greyscale frame: the stored bits (highBit-bitsStored+1 .. highBit),
// sign-extended for signed data.
std::int64_t sampleAt(const DicomFile& f, const std::uint8_t* raw, std::size_t i) {
    std::uint32_t v = 0;
    switch (rawBytesPerSample(f)) {
        case 1:
            v = raw[i];
            break;
        case 2: {
            std::uint16_t s;
            std::memcpy(&s, raw + 2 * i, 2);  // DCMTK hands frames in host byte order
            v = s;
            break;
        }
        default:
            std::memcpy(&v, raw + 4 * i, 4);
    }
    const unsigned shift = static_cast<unsigned>(f.highBit + 1 - f.bitsStored);
    const std::uint32_t mask = f.bitsStored >= 32 ? 0xFFFFFFFFu : ((1u << f.bitsStored) - 1);
    const std::uint32_t signBit = 1u << (f.bitsStored - 1);
    v = (v >> shift) & mask;
    std::int64_t value = v;
    if (f.isSigned && (v & signBit)) value -= std::int64_t(signBit) * 2;
    return value;
}

// JPEG 2000 through OpenJPEG, from memory.
struct MemoryStream {
    const std::uint8_t* data;
    std::size_t size, pos = 0;
};

OPJ_SIZE_T memRead(void* buffer, OPJ_SIZE_T n, void* user) {
    auto* m = static_cast<MemoryStream*>(user);
    if (m->pos >= m->size) return static_cast<OPJ_SIZE_T>(-1);
    const std::size_t k = std::min<std::size_t>(n, m->size - m->pos);
    std::memcpy(buffer, m->data + m->pos, k);
    m->pos += k;
    return k;
}

OPJ_OFF_T memSkip(OPJ_OFF_T n, void* user) {
    auto* m = static_cast<MemoryStream*>(user);
    if (n < 0) {
        const std::size_t back = std::min<std::size_t>(std::size_t(-n), m->pos);
        m->pos -= back;
        return -OPJ_OFF_T(back);
    }
    const std::size_t k = std::min<std::size_t>(std::size_t(n), m->size - m->pos);
    m->pos += k;
    return OPJ_OFF_T(k);
}

OPJ_BOOL memSeek(OPJ_OFF_T n, void* user) {
    auto* m = static_cast<MemoryStream*>(user);
    if (n < 0 || std::size_t(n) > m->size) return OPJ_FALSE;
    m->pos = std::size_t(n);
    return OPJ_TRUE;
}

struct J2kFrame {
    int components = 0, precision = 0;
    bool isSigned = false;
    std::vector<std::int32_t> samples;  // interleaved, rows * cols * components
};

// The compressed bytes of one frame: the fragments the Basic Offset Table points at, else one
// fragment per frame when the counts agree, else fragments grouped where `startsFrame` says a
// frame begins (a JPEG 2000 start marker, an RLE header). `codec` names the compression in errors.
std::vector<std::uint8_t> frameBytes(const DicomFile& f, int frame, const std::string& codec,
                                     bool (*startsFrame)(const std::uint8_t*, std::size_t)) {
    DcmElement* element = nullptr;
    DcmPixelSequence* seq = nullptr;
    // A damaged file can give (7FE0,0010) another VR, so another element class: checked.
    DcmPixelData* pixels = nullptr;
    if (f.ds()->findAndGetElement(DCM_PixelData, element).bad() ||
        !(pixels = dynamic_cast<DcmPixelData*>(element)) ||
        pixels->getEncapsulatedRepresentation(f.xfer, nullptr, seq).bad() || !seq ||
        seq->card() < 2)
        throw ImageError(f.path, codec + " pixel data has no fragments");
    struct Fragment {
        const std::uint8_t* data;
        std::size_t size;
        std::uint64_t position;  // of the item, counted from the first fragment's item tag
    };
    std::vector<Fragment> fragments;
    std::uint64_t position = 0;
    for (unsigned long i = 1; i < seq->card(); ++i) {
        DcmPixelItem* item = nullptr;
        Uint8* data = nullptr;
        if (seq->getItem(item, i).bad() || !item) continue;
        const Uint32 length = item->getLength();
        if (length > 0 && (item->getUint8Array(data).bad() || !data))
            throw ImageError(f.path, "cannot read " + codec + " fragment " + std::to_string(i));
        fragments.push_back({data, length, position});
        position += 8ull + length;
    }
    std::vector<std::size_t> starts;  // first fragment of each frame
    DcmPixelItem* table = nullptr;
    Uint8* offsets = nullptr;
    if (seq->getItem(table, 0).good() && table &&
        table->getLength() >= 4ull * static_cast<unsigned>(f.frames) &&
        table->getUint8Array(offsets).good() && offsets) {
        for (int k = 0; k < f.frames; ++k) {
            const std::uint64_t at = offsets[4 * k] | (offsets[4 * k + 1] << 8) |
                                     (offsets[4 * k + 2] << 16) |
                                     (std::uint64_t(offsets[4 * k + 3]) << 24);
            auto it = std::find_if(fragments.begin(), fragments.end(),
                                   [&](const Fragment& x) { return x.position == at; });
            if (it == fragments.end()) {
                starts.clear();
                break;
            }
            starts.push_back(std::size_t(it - fragments.begin()));
        }
    }
    if (starts.empty() && fragments.size() == std::size_t(f.frames))
        for (int k = 0; k < f.frames; ++k) starts.push_back(std::size_t(k));
    if (starts.empty() && f.frames == 1) starts.push_back(0);
    if (starts.empty())
        for (std::size_t i = 0; i < fragments.size(); ++i)
            if (startsFrame(fragments[i].data, fragments[i].size)) starts.push_back(i);
    if (starts.size() != std::size_t(f.frames) || !std::is_sorted(starts.begin(), starts.end()))
        throw ImageError(f.path, "cannot tell which " + codec + " fragments hold frame " +
                                     std::to_string(frame));
    const std::size_t first = starts[std::size_t(frame)];
    const std::size_t last =
        std::size_t(frame) + 1 < starts.size() ? starts[std::size_t(frame) + 1] : fragments.size();
    std::vector<std::uint8_t> bytes;
    for (std::size_t i = first; i < last; ++i)
        bytes.insert(bytes.end(), fragments[i].data, fragments[i].data + fragments[i].size);
    return bytes;
}

bool startsJpeg2000(const std::uint8_t* data, std::size_t size) {
    static const std::uint8_t soc[] = {0xFF, 0x4F}, jp2[] = {0, 0, 0, 0x0C, 'j', 'P'};
    return (size >= 2 && std::memcmp(data, soc, 2) == 0) ||
           (size >= 6 && std::memcmp(data, jp2, 6) == 0);
}

// One RLE frame, colour-by-plane, samples little-endian (see decodeDicomRle).
std::vector<std::uint8_t> decodeRleFrame(const DicomFile& f, int frame) {
    const std::vector<std::uint8_t> bytes = frameBytes(f, frame, "RLE", looksLikeRleFrame);
    try {
        return decodeDicomRle(bytes.data(), bytes.size(), f.rows, f.cols, f.samples,
                              f.bitsAllocated / 8);
    } catch (const RleError& e) {
        throw ImageError(f.path,
                         "cannot decode RLE frame " + std::to_string(frame) + ": " + e.what());
    }
}

// A dataset with `f`'s header and RLE frame `frame` as uncompressed pixel data (colour-by-plane),
// for DicomImage's colour models.
std::unique_ptr<DcmDataset> uncompressedRleFrame(const DicomFile& f, int frame) {
    std::vector<std::uint8_t> pixels = decodeRleFrame(f, frame);
    auto out = std::make_unique<DcmDataset>();
    DcmDataset* ds = f.ds();
    for (unsigned long i = 0; i < ds->card(); ++i) {
        DcmElement* e = ds->getElement(i);
        if (!e || e->getTag().getGroup() == 0x7FE0) continue;
        out->insert(static_cast<DcmElement*>(e->clone()), true);
    }
    out->putAndInsertUint16(DCM_PlanarConfiguration, 1);
    out->putAndInsertString(DCM_NumberOfFrames, "1");
    const OFCondition c =
        f.bitsAllocated == 8
            ? out->putAndInsertUint8Array(DCM_PixelData, pixels.data(),
                                          static_cast<unsigned long>(pixels.size()))
            : out->putAndInsertUint16Array(DCM_PixelData,
                                           reinterpret_cast<const Uint16*>(pixels.data()),
                                           static_cast<unsigned long>(pixels.size() / 2));
    if (c.bad())
        throw ImageError(f.path,
                         "cannot hold RLE frame " + std::to_string(frame) + ": " + c.text());
    return out;
}

J2kFrame decodeJpeg2000(const DicomFile& f, int frame) {
    const std::vector<std::uint8_t> bytes = frameBytes(f, frame, "JPEG 2000", startsJpeg2000);
    const std::string what = "cannot decode JPEG 2000 frame " + std::to_string(frame);
    if (bytes.size() < 6) throw ImageError(f.path, what + ": no codestream");
    const bool jp2 = bytes[0] == 0 && bytes[3] == 0x0C && bytes[4] == 'j';
    struct Cleanup {
        opj_stream_t* stream = nullptr;
        opj_codec_t* codec = nullptr;
        opj_image_t* image = nullptr;
        ~Cleanup() {
            if (image) opj_image_destroy(image);
            if (codec) opj_destroy_codec(codec);
            if (stream) opj_stream_destroy(stream);
        }
    } c;
    MemoryStream mem{bytes.data(), bytes.size()};
    c.stream = opj_stream_create(OPJ_J2K_STREAM_CHUNK_SIZE, OPJ_TRUE);
    c.codec = opj_create_decompress(jp2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K);
    if (!c.stream || !c.codec) throw ImageError(f.path, what + ": out of memory");
    opj_stream_set_user_data(c.stream, &mem, nullptr);
    opj_stream_set_user_data_length(c.stream, bytes.size());
    opj_stream_set_read_function(c.stream, memRead);
    opj_stream_set_skip_function(c.stream, memSkip);
    opj_stream_set_seek_function(c.stream, memSeek);
    std::string error;
    opj_set_error_handler(
        c.codec,
        [](const char* msg, void* user) {
            auto* e = static_cast<std::string*>(user);
            if (e->empty()) e->assign(msg);
            while (!e->empty() && (e->back() == '\n' || e->back() == ' ')) e->pop_back();
        },
        &error);
    opj_set_warning_handler(
        c.codec, [](const char*, void*) {}, nullptr);
    opj_set_info_handler(
        c.codec, [](const char*, void*) {}, nullptr);
    opj_dparameters_t params;
    opj_set_default_decoder_parameters(&params);
    if (!opj_setup_decoder(c.codec, &params) || !opj_read_header(c.stream, c.codec, &c.image) ||
        !c.image)
        throw ImageError(f.path, what + ": " + (error.empty() ? "bad header" : error));
    // The header is checked against the DICOM one before anything large is allocated.
    const opj_image_t& h = *c.image;
    if (h.x1 - h.x0 != unsigned(f.cols) || h.y1 - h.y0 != unsigned(f.rows) ||
        h.numcomps != unsigned(f.samples))
        throw ImageError(f.path, what + ": codestream is " + std::to_string(h.x1 - h.x0) + "x" +
                                     std::to_string(h.y1 - h.y0) + " with " +
                                     std::to_string(h.numcomps) + " components, the header says " +
                                     std::to_string(f.cols) + "x" + std::to_string(f.rows) +
                                     " with " + std::to_string(f.samples));
    for (unsigned k = 0; k < h.numcomps; ++k)
        if (h.comps[k].dx != 1 || h.comps[k].dy != 1 || h.comps[k].prec == 0 ||
            h.comps[k].prec > 16)
            throw ImageError(f.path, what + ": subsampled or over 16-bit components");
    if (!opj_decode(c.codec, c.stream, c.image) || !opj_end_decompress(c.codec, c.stream))
        throw ImageError(f.path, what + ": " + (error.empty() ? "corrupt codestream" : error));
    J2kFrame out;
    out.components = int(h.numcomps);
    out.precision = int(h.comps[0].prec);
    out.isSigned = h.comps[0].sgnd != 0;
    const std::size_t n = std::size_t(f.rows) * f.cols;
    out.samples.resize(n * h.numcomps);
    for (unsigned k = 0; k < h.numcomps; ++k) {
        const OPJ_INT32* data = h.comps[k].data;
        if (!data || h.comps[k].w != unsigned(f.cols) || h.comps[k].h != unsigned(f.rows))
            throw ImageError(f.path, what + ": incomplete image");
        for (std::size_t i = 0; i < n; ++i) out.samples[i * h.numcomps + k] = data[i];
    }
    return out;
}

// One greyscale frame's samples as DCMTK hands them: host byte order, rawBytesPerSample() each.
std::vector<std::uint8_t> rawFrame(const DicomFile& f, int frame) {
    DcmDataset* ds = f.ds();
    DcmElement* element = nullptr;
    if (ds->findAndGetElement(DCM_PixelData, element).bad())
        throw ImageError(f.path, "no pixel data");
    const std::size_t n = std::size_t(f.rows) * f.cols;
    if (f.bitsAllocated == 1) {  // packed, least significant bit first, frames not padded
        const std::uint64_t firstBit = std::uint64_t(frame) * n;
        const std::uint64_t firstByte = firstBit / 8;
        const std::uint64_t bytes = (firstBit % 8 + n + 7) / 8;
        std::vector<std::uint8_t> packed(bytes);
        const OFCondition c = element->getPartialValue(
            packed.data(), static_cast<Uint32>(firstByte), static_cast<Uint32>(bytes));
        if (c.bad())
            throw ImageError(f.path,
                             "cannot read frame " + std::to_string(frame) + ": " + c.text());
        std::vector<std::uint8_t> raw(n);
        for (std::size_t i = 0; i < n; ++i) {
            const std::uint64_t bit = firstBit % 8 + i;
            raw[i] = (packed[bit / 8] >> (bit % 8)) & 1;
        }
        return raw;
    }
    if (f.jpeg2000()) {
        const J2kFrame j = decodeJpeg2000(f, frame);
        std::vector<std::uint8_t> raw(n * std::size_t(rawBytesPerSample(f)));
        for (std::size_t i = 0; i < n; ++i) {
            const std::int32_t v = j.samples[i];
            if (f.bitsAllocated == 8) {
                raw[i] = static_cast<std::uint8_t>(v);
            } else {
                const auto s = static_cast<std::uint16_t>(v);  // two's complement, low 16 bits
                std::memcpy(raw.data() + 2 * i, &s, 2);
            }
        }
        return raw;
    }
    if (f.rle()) return decodeRleFrame(f, frame);  // one sample: by-plane is interleaved
    auto* pixelData = dynamic_cast<DcmPixelData*>(element);
    if (!pixelData)  // (7FE0,0010) with a VR DCMTK does not read as pixel data (damaged file)
        throw ImageError(f.path, "pixel data element has an unexpected value representation");
    Uint32 frameSize = 0;
    if (pixelData->getUncompressedFrameSize(ds, frameSize).bad() || frameSize == 0)
        throw ImageError(f.path, "cannot determine the frame size");
    if (frameSize < n * std::size_t(rawBytesPerSample(f)))
        throw ImageError(f.path, "frame size does not match the header");
    std::vector<std::uint8_t> raw(frameSize);
    Uint32 startFragment = 0;
    OFString colourModel;
    const OFCondition c = pixelData->getUncompressedFrame(
        ds, static_cast<Uint32>(frame), startFragment, raw.data(), frameSize, colourModel);
    if (c.bad())
        throw ImageError(f.path, "cannot decode frame " + std::to_string(frame) + " (" +
                                     DcmXfer(f.xfer).getXferName() + "): " + c.text());
    // Big-endian 32-bit samples in an OW element come back with each 16-bit word swapped, not
    // the whole sample: put the halves back in order.
    if (f.bitsAllocated == 32 && DcmXfer(f.xfer).getByteOrder() == EBO_BigEndian &&
        element->getVR() == EVR_OW)
        for (std::size_t i = 0; i < n; ++i) {
            std::uint32_t v;
            std::memcpy(&v, raw.data() + 4 * i, 4);
            v = (v >> 16) | (v << 16);
            std::memcpy(raw.data() + 4 * i, &v, 4);
        }
    return raw;
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
            throw ImageError(path, truncationReason(path, pixelElement->getLength()));
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

    // 4:2:2 subsampled YBR stores two samples per pixel when uncompressed; 1-bit frames are
    // packed back to back, without padding.
    const bool subsampled =
        f.photometric.rfind("YBR", 0) == 0 && f.photometric.find("422") != std::string::npos;
    const std::uint64_t perPixel = subsampled ? 2 : spp;
    const std::uint64_t frameBytes = ba == 1 ? (std::uint64_t(rows) * cols + 7) / 8
                                             : std::uint64_t(rows) * cols * perPixel * (ba / 8);
    if (frameBytes > kMaxFrameBytes)
        throw ImageError(path, "absurd dimensions: one frame would take " +
                                   std::to_string(frameBytes >> 20) + " MiB");
    if (!DcmXfer(f.xfer).isEncapsulated()) {
        const std::uint64_t expected =
            ba == 1 ? (std::uint64_t(rows) * cols * static_cast<std::uint64_t>(frames) + 7) / 8
                    : frameBytes * static_cast<std::uint64_t>(frames);
        if (pixelElement->getLength() < expected)
            throw ImageError(path, "pixel data truncated: expected " + std::to_string(expected) +
                                       " bytes, file has " +
                                       std::to_string(pixelElement->getLength()));
    }

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
    const std::vector<std::uint8_t> raw = rawFrame(f, frame);
    // Decoded Gray16 value: the stored value (signed ones shifted by 32768), or for 32-bit data
    // its step from the base; a file with another modality LUT than the image's is re-mapped.
    const double fileSlope = f.mapSlope(), fileIntercept = f.mapIntercept();
    const bool remap = fileSlope != mapping.slope || fileIntercept != mapping.intercept;

    PixelBuffer out(f.cols, f.rows, PixelFormat::Gray16);
    auto* dst = reinterpret_cast<std::uint16_t*>(out.bytes.data());
    const std::size_t n = std::size_t(f.rows) * f.cols;
    std::uint16_t lo = 0xFFFF, hi = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const std::int64_t v = sampleAt(f, raw.data(), i);
        std::int64_t value;
        if (f.wide())
            value =
                f.step == 1
                    ? v - f.base
                    : static_cast<std::int64_t>(std::llround(double(v - f.base) / double(f.step)));
        else
            value = f.isSigned ? v + 32768 : v;
        if (remap) {  // another slice's modality LUT: express the same real value in ours
            const double real = double(value) * fileSlope + fileIntercept;
            value =
                std::llround(std::clamp((real - mapping.intercept) / mapping.slope, 0.0, 65535.0));
        }
        const auto stored = static_cast<std::uint16_t>(std::clamp<std::int64_t>(value, 0, 65535));
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
    if (f.jpeg2000()) {  // OpenJPEG undoes the codestream's colour transform (YBR_RCT/ICT)
        if (f.samples != 3)
            throw ImageError(f.path, "JPEG 2000 colour needs 3 samples, the file has " +
                                         std::to_string(f.samples));
        const J2kFrame j = decodeJpeg2000(f, frame);
        const int shift = std::max(0, j.precision - 8);
        const int offset = j.isSigned ? 1 << (j.precision - 1) : 0;
        PixelBuffer out(f.cols, f.rows, PixelFormat::Rgba8);
        const std::size_t n = std::size_t(f.rows) * f.cols;
        for (std::size_t i = 0; i < n; ++i) {
            for (int c = 0; c < 3; ++c)
                out.bytes[4 * i + c] = static_cast<std::uint8_t>(
                    std::clamp((j.samples[3 * i + c] + offset) >> shift, 0, 255));
            out.bytes[4 * i + 3] = 255;
        }
        Decoded d;
        d.pixels = std::make_shared<const PixelBuffer>(std::move(out));
        return d;
    }
    // DicomImage knows every colour model (RGB, YBR_*, palette, planar layouts, 16-bit samples);
    // partial access makes it decode just this frame. An RLE frame is decoded here first and
    // handed over uncompressed, in a copy of the header.
    std::unique_ptr<DcmDataset> rleFrame;
    if (f.rle()) rleFrame = uncompressedRleFrame(f, frame);
    DicomImage image(rleFrame ? rleFrame.get() : f.ds(),
                     rleFrame ? EXS_LittleEndianExplicit : f.xfer, CIF_UsePartialAccessToPixelData,
                     rleFrame ? 0ul : static_cast<unsigned long>(frame), 1);
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

constexpr int kMaxFolderDepth = 8;              // subfolders looked into below the opened folder
constexpr std::size_t kMaxSeriesFiles = 20000;  // files examined in a folder or DICOMDIR
constexpr std::uintmax_t kMaxDicomdirBytes = 64ull << 20;

bool isDicomdirName(const fs::path& p) {
    std::string n = p.filename().string();
    std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::toupper(c); });
    return n == "DICOMDIR";
}

// A DICOMDIR file: by name, or by its Media Storage SOP Class in the meta header.
bool isDicomdirFile(const fs::path& p) {
    if (isDicomdirName(p)) return true;
    std::ifstream in(p, std::ios::binary);
    std::string head(1024, '\0');
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    head.resize(static_cast<std::size_t>(in.gcount()));
    const std::string uid = "1.2.840.10008.1.3.10";
    const auto at = head.find(uid);
    return head.size() >= 132 && head.compare(128, 4, "DICM") == 0 && at != std::string::npos &&
           (at + uid.size() >= head.size() || !std::isdigit(head[at + uid.size()]) ||
            head[at + uid.size()] == '\0');
}

fs::path dicomdirIn(const fs::path& folder) {
    std::error_code ec;
    for (const char* name : {"DICOMDIR", "dicomdir"})
        if (fs::is_regular_file(folder / name, ec)) return folder / name;
    return {};
}

// The files a DICOMDIR references (Referenced File ID of its directory records), in its order.
// The records are read as a flat list, without following their offsets: DCMTK's DcmDicomDir
// builds its tree by recursion on those offsets, which a hostile file controls.
std::vector<fs::path> dicomdirFiles(const fs::path& dicomdir,
                                    std::vector<std::pair<std::string, std::string>>& skipped) {
    std::error_code ec;
    const auto size = fs::file_size(dicomdir, ec);
    if (ec) throw ImageError(dicomdir.string(), "cannot read DICOMDIR: " + ec.message());
    if (size > kMaxDicomdirBytes)
        throw ImageError(dicomdir.string(),
                         "DICOMDIR too large (" + std::to_string(size >> 20) + " MiB)");
    DcmFileFormat file;
    const OFCondition c = file.loadFile(dicomdir.c_str());
    if (c.bad())
        throw ImageError(dicomdir.string(), std::string("unreadable DICOMDIR: ") + c.text());
    DcmSequenceOfItems* records = nullptr;
    if (file.getDataset()->findAndGetSequence(DCM_DirectoryRecordSequence, records).bad() ||
        !records)
        throw ImageError(dicomdir.string(), "DICOMDIR without directory records");
    const fs::path root = dicomdir.parent_path();
    std::vector<fs::path> files;
    for (unsigned long i = 0; i < records->card() && files.size() < kMaxSeriesFiles; ++i) {
        DcmItem* record = records->getItem(i);
        OFString part;
        if (!record || record->findAndGetOFString(DCM_ReferencedFileID, part, 0).bad()) continue;
        fs::path p = root;
        std::string id;
        bool valid = true;
        for (unsigned long k = 0; k < 8 && valid; ++k) {  // PS3.10: at most 8 components
            if (record->findAndGetOFString(DCM_ReferencedFileID, part, k).bad()) break;
            const std::string s(part.c_str());
            valid = !s.empty() && s != "." && s != ".." && s.find('/') == std::string::npos;
            p /= s;
            id += (id.empty() ? "" : "\\") + s;
        }
        if (!valid) {  // a name that could leave the file-set's folder
            skipped.emplace_back(id, "DICOMDIR file ID leaves the file-set's folder, not read");
            continue;
        }
        if (!fs::exists(p, ec)) {  // file-sets copied from CDs often have lower-case names
            std::string lower = p.lexically_relative(root).string();
            std::transform(lower.begin(), lower.end(), lower.begin(),
                           [](unsigned char ch) { return std::tolower(ch); });
            if (fs::exists(root / lower, ec)) p = root / lower;
        }
        if (std::find(files.begin(), files.end(), p) == files.end()) files.push_back(p);
    }
    return files;
}

// The files of a folder and its subfolders (hidden ones and links to folders skipped), breadth
// first, sorted within each folder; bounded in depth and count.
std::vector<fs::path> folderFiles(const fs::path& folder, bool& truncated) {
    std::vector<fs::path> files;
    std::vector<fs::path> level{folder};
    truncated = false;
    for (int depth = 0; depth <= kMaxFolderDepth && !level.empty(); ++depth) {
        std::vector<fs::path> next;
        for (const fs::path& dir : level) {
            std::vector<fs::path> here, subs;
            std::error_code ec;
            for (const auto& entry : fs::directory_iterator(dir, ec)) {
                const std::string name = entry.path().filename().string();
                if (name.empty() || name.front() == '.') continue;
                if (entry.is_symlink(ec) && entry.is_directory(ec)) continue;
                if (entry.is_directory(ec))
                    subs.push_back(entry.path());
                else if (entry.is_regular_file(ec) && !isDicomdirName(entry.path()))
                    here.push_back(entry.path());
            }
            if (ec && dir == folder)
                throw ImageError(folder.string(), "cannot list folder: " + ec.message());
            std::sort(here.begin(), here.end());
            std::sort(subs.begin(), subs.end());
            for (auto& p : here) {
                if (files.size() >= kMaxSeriesFiles) {
                    truncated = true;
                    return files;
                }
                files.push_back(std::move(p));
            }
            next.insert(next.end(), subs.begin(), subs.end());
        }
        level = std::move(next);
    }
    return files;
}

// Whether a folder (or one of its subfolders) holds a DICOMDIR or a DICOM file: cheap, stops at
// the first hit and looks at a bounded number of entries.
bool folderHasDicom(const fs::path& folder) {
    std::vector<fs::path> level{folder};
    std::size_t looked = 0;
    for (int depth = 0; depth <= kMaxFolderDepth && !level.empty(); ++depth) {
        std::vector<fs::path> next;
        for (const fs::path& dir : level) {
            std::error_code ec;
            for (const auto& entry : fs::directory_iterator(dir, ec)) {
                if (++looked > 2000) return false;
                const std::string name = entry.path().filename().string();
                if (name.empty() || name.front() == '.') continue;
                if (entry.is_symlink(ec) && entry.is_directory(ec)) continue;
                if (entry.is_directory(ec))
                    next.push_back(entry.path());
                else if (entry.is_regular_file(ec) &&
                         (isDicomdirName(entry.path()) || hasDicmMagic(entry.path())))
                    return true;
            }
        }
        level = std::move(next);
    }
    return false;
}

std::string relativeName(const fs::path& p, const fs::path& root) {
    const fs::path r = p.lexically_relative(root);
    return r.empty() ? p.filename().string() : r.string();
}

struct SeriesScan {
    std::string source;               // "DICOMDIR" or "folder"
    std::vector<DicomSeries> series;  // largest first
    std::vector<DicomFile> files;     // the chosen series' files
    std::vector<std::pair<std::string, std::string>> skipped;
};

// The DICOM image files of a folder (through its DICOMDIR when it has one, else its files and
// subfolders) or of a DICOMDIR file, grouped by series; `files` is the series `wanted`, or the
// largest when `wanted` is empty.
SeriesScan scanSeries(const std::string& path, const std::optional<std::string>& wanted) {
    SeriesScan scan;
    std::error_code ec;
    const bool folder = fs::is_directory(path, ec);
    const fs::path root = folder ? fs::path(path) : fs::path(path).parent_path();
    const fs::path dicomdir = folder ? dicomdirIn(root) : fs::path(path);
    std::vector<fs::path> paths;
    if (!dicomdir.empty()) {
        try {
            paths = dicomdirFiles(dicomdir, scan.skipped);
            scan.source = "DICOMDIR";
        } catch (const ImageError& e) {
            if (!folder) throw;
            scan.skipped.emplace_back(dicomdir.filename().string(), e.reason());
        }
    }
    std::vector<std::string> order;  // series UIDs in the order first seen
    std::map<std::string, std::vector<DicomFile>> bySeries;
    std::string firstReason;
    auto parseAll = [&] {
        firstReason.clear();
        for (const auto& p : paths) {
            const std::string name = relativeName(p, root);
            try {
                if (!hasDicmMagic(p) && !looksLikeBareDataset(p))
                    throw ImageError(p.string(), "not a DICOM file (no 'DICM' at offset 128)");
                DicomFile f = parseFile(p.string());
                if (!bySeries.count(f.seriesUid)) order.push_back(f.seriesUid);
                bySeries[f.seriesUid].push_back(std::move(f));
            } catch (const ImageError& e) {
                scan.skipped.emplace_back(name, e.reason());
                if (firstReason.empty()) firstReason = name + ": " + e.reason();
            }
        }
    };
    if (!scan.source.empty()) {
        parseAll();
        if (bySeries.empty() && folder) {  // e.g. a DICOMDIR left behind by a copy
            scan.skipped.emplace_back(dicomdir.filename().string(),
                                      "its files hold no readable image; the folder was searched");
            scan.source.clear();
        }
    }
    if (scan.source.empty()) {
        bool truncated = false;
        paths = folderFiles(root, truncated);
        scan.source = "folder";
        if (truncated)
            scan.skipped.emplace_back(
                "(more files)",
                "only the first " + std::to_string(kMaxSeriesFiles) + " files were examined");
        parseAll();
    }
    if (bySeries.empty())
        throw ImageError(
            path, paths.empty()
                      ? (scan.source == "DICOMDIR" ? "the DICOMDIR references no files"
                                                   : "folder holds no files")
                      : "no DICOM image in the " +
                            std::string(scan.source == "DICOMDIR" ? "DICOMDIR's files" : "folder") +
                            "; first file " + firstReason);
    for (const std::string& uid : order) {
        const auto& list = bySeries[uid];
        DcmDataset* ds = list.front().ds();
        DicomSeries s;
        s.uid = uid;
        s.modality = getString(ds, DCM_Modality);
        s.description = getString(ds, DCM_SeriesDescription);
        s.number = getString(ds, DCM_SeriesNumber);
        s.files = static_cast<int>(list.size());
        for (const DicomFile& f : list) s.frames += f.frames;
        fs::path common = fs::path(list.front().path).parent_path();
        for (const DicomFile& f : list)
            while (
                !common.empty() &&
                (fs::path(f.path).parent_path().string() + "/").rfind(common.string() + "/", 0) !=
                    0)
                common = common.parent_path();
        s.folder = common.string();
        scan.series.push_back(s);
    }
    std::stable_sort(scan.series.begin(), scan.series.end(),
                     [](const DicomSeries& a, const DicomSeries& b) { return a.files > b.files; });
    const std::string chosen = wanted ? *wanted : scan.series.front().uid;
    auto it = bySeries.find(chosen);
    if (it == bySeries.end()) {
        std::string known;
        for (const auto& s : scan.series) known += (known.empty() ? "" : ", ") + s.uid;
        throw ImageError(path, "no series " + chosen + " here (series: " + known + ")");
    }
    const DicomFile& ref = it->second.front();
    for (DicomFile& f : it->second) {
        if (f.rows != ref.rows || f.cols != ref.cols || f.colour != ref.colour) {
            scan.skipped.emplace_back(relativeName(f.path, root),
                                      "size or colour differs from the rest of the series");
            continue;
        }
        scan.files.push_back(std::move(f));
    }
    return scan;
}

std::string describe(const DicomSeries& s, const fs::path& root) {
    std::string d = s.uid.empty() ? "(no UID)" : s.uid;
    d += ": " + (s.modality.empty() ? std::string("?") : s.modality);
    if (!s.number.empty()) d += " #" + s.number;
    if (!s.description.empty()) d += " \"" + s.description + "\"";
    d += ", " + std::to_string(s.files) + (s.files == 1 ? " file" : " files");
    if (s.frames != s.files) d += ", " + std::to_string(s.frames) + " frames";
    const std::string where = relativeName(s.folder, root);
    if (!where.empty() && where != ".") d += ", in " + where;
    return d;
}

}  // namespace

DicomSource::DicomSource(const std::string& path) : DicomSource(path, SeriesChoice{}) {}

DicomSource::DicomSource(const std::string& path, const std::string& seriesUid)
    : DicomSource(path, SeriesChoice{seriesUid}) {}

std::vector<DicomSeries> DicomSource::listSeries(const std::string& path) {
    registerCodecsOnce();
    std::error_code ec;
    if (!fs::is_directory(path, ec) && !isDicomdirFile(path))
        throw ImageError(path, "not a folder or DICOMDIR");
    return scanSeries(path, std::nullopt).series;
}

DicomSource::DicomSource(const std::string& path, SeriesChoice choice)
    : impl_(std::make_unique<Impl>()) {
    const std::optional<std::string>& seriesUid = choice.uid;
    registerCodecsOnce();
    Impl& m = *impl_;
    ImageInfo& info = m.info;
    info.path = path;
    std::error_code ec;
    const bool folder = fs::is_directory(path, ec) || isDicomdirFile(path);
    std::vector<std::pair<std::string, std::string>> skipped;
    std::vector<DicomSeries> series;
    std::string order, source;
    if (folder) {
        SeriesScan scan = scanSeries(path, seriesUid);
        m.files = std::move(scan.files);
        skipped = std::move(scan.skipped);
        series = std::move(scan.series);
        source = scan.source;
        if (m.files.empty())
            throw ImageError(path, "no image of the series has the series' size and colour");
        order = sortFiles(m.files);
        // A chosen series that has a folder of its own (as in file-sets: PT*/ST*/SE*) is named by
        // that folder, which opens just this series again (recent files, results).
        if (seriesUid) {
            const std::string uid = *seriesUid;
            auto chosen = std::find_if(series.begin(), series.end(),
                                       [&](const DicomSeries& s) { return s.uid == uid; });
            const std::string own = chosen != series.end() ? chosen->folder : std::string();
            const fs::path root =
                fs::is_directory(path, ec) ? fs::path(path) : fs::path(path).parent_path();
            const bool alone =
                !own.empty() && fs::path(own) != root &&
                std::none_of(series.begin(), series.end(), [&](const DicomSeries& s) {
                    return s.uid != uid && (s.folder + "/").rfind(own + "/", 0) == 0;
                });
            if (alone) info.path = own;
        }
    } else {
        if (seriesUid)
            throw ImageError(path, "a series can be chosen in a folder or DICOMDIR only");
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
                               std::to_string(info.sliceCount) + " slices" +
                               (source == "DICOMDIR" ? ", from DICOMDIR" : "") + ")"
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
    if (folder) {
        // Every series found, largest first: `lucida-cli info` lists them, the viewer offers them.
        props.emplace_back("dicom.series_source", source == "DICOMDIR"
                                                      ? "DICOMDIR"
                                                      : "files in the folder and its subfolders");
        props.emplace_back("dicom.series_count", std::to_string(series.size()));
        const std::string chosen = getString(ds, DCM_SeriesInstanceUID);
        for (std::size_t i = 0; i < series.size(); ++i)
            props.emplace_back(
                "dicom.series." + std::to_string(i + 1),
                describe(series[i], fs::is_directory(path, ec) ? fs::path(path)
                                                               : fs::path(path).parent_path()) +
                    (series[i].uid == chosen ? " (shown)" : ""));
    }

    if (!first.colour) {
        m.mapping.slope = first.mapSlope();
        m.mapping.intercept = first.mapIntercept();
        m.mapping.unit = first.unit.empty() ? getString(ds, DCM_RescaleType) : first.unit;
        if (m.mapping.unit.empty() || m.mapping.unit == "US")  // US: unspecified
            m.mapping.unit = modality == "CT" ? "HU" : "";
        info.grayMapping = m.mapping;
        const bool varies = std::any_of(m.files.begin(), m.files.end(), [&](const DicomFile& f) {
            return f.mapSlope() != m.mapping.slope || f.mapIntercept() != m.mapping.intercept;
        });
        if (varies)
            props.emplace_back("dicom.rescale_varies",
                               "slices re-mapped to the first slice's slope/intercept");
        if (first.wide())
            props.emplace_back("dicom.value_step",
                               "32-bit values held in steps of " + std::to_string(first.step) +
                                   (first.step == 1 || first.step > 1 ? "" : "") + " from " +
                                   std::to_string(first.base));
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
        return folderHasDicom(probe.path);
    };
    f.open = [](const FileProbe& probe) -> std::unique_ptr<ImageSource> {
        return std::make_unique<DicomSource>(probe.path);
    };
    return f;
}

}  // namespace lucida
