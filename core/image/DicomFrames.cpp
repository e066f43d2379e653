// Frame decoding for DicomSource: the compressed bytes of a frame out of its fragments, JPEG 2000
// through OpenJPEG, RLE through DicomRle, everything else through DCMTK.
#include "image/DicomFrames.h"

#include "image/DicomRle.h"
#include "image/ImageError.h"
#include "image/JpegFrameHeader.h"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>
#include <openjpeg.h>

#include <algorithm>
#include <cstring>
#include <string>

namespace lucida::dicom {

namespace {

// "a codestream of 64x64, 1 component; the header says 16000x16000, 1 sample per pixel"
std::string sizeMismatch(unsigned width, unsigned height, unsigned components, const DicomFile& f) {
    return "the codestream is " + std::to_string(width) + "x" + std::to_string(height) + ", " +
           std::to_string(components) + (components == 1 ? " component" : " components") +
           "; the DICOM header says " + std::to_string(f.cols) + "x" + std::to_string(f.rows) +
           ", " + std::to_string(f.samples) +
           (f.samples == 1 ? " sample per pixel" : " samples per pixel");
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

// The compressed bytes of one frame: the fragments the Basic Offset Table points at, else one
// fragment per frame when the counts agree, else fragments grouped where `startsFrame` says a
// frame begins (a JPEG 2000 start marker, an RLE header). `codec` names the compression in errors.
// With `wholeIfUnknown`, every fragment's bytes when the frame's cannot be told apart.
std::vector<std::uint8_t> frameBytes(const DicomFile& f, int frame, const std::string& codec,
                                     bool (*startsFrame)(const std::uint8_t*, std::size_t),
                                     bool wholeIfUnknown = false) {
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
    const bool known =
        starts.size() == std::size_t(f.frames) && std::is_sorted(starts.begin(), starts.end());
    if (!known && !wholeIfUnknown)
        throw ImageError(f.path, "cannot tell which " + codec + " fragments hold frame " +
                                     std::to_string(frame));
    const std::size_t first = known ? starts[std::size_t(frame)] : 0;
    const std::size_t last = known && std::size_t(frame) + 1 < starts.size()
                                 ? starts[std::size_t(frame) + 1]
                                 : fragments.size();
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

}  // namespace

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
        throw ImageError(f.path,
                         what + ": " + sizeMismatch(h.x1 - h.x0, h.y1 - h.y0, h.numcomps, f));
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

bool startsJpeg(const std::uint8_t* data, std::size_t size) {
    return size >= 2 && data[0] == 0xFF && data[1] == 0xD8;
}

void checkJpegFrame(const DicomFile& f, int frame) {
    if (!DcmXfer(f.xfer).isEncapsulated() || f.jpeg2000() || f.rle()) return;
    const std::vector<std::uint8_t> bytes =
        frameBytes(f, frame, "JPEG", startsJpeg, /*wholeIfUnknown=*/true);
    const std::string what =
        "cannot decode frame " + std::to_string(frame) + " (" + DcmXfer(f.xfer).getXferName() + ")";
    JpegFrameHeader h;
    try {
        h = readJpegFrameHeader(bytes.data(), bytes.size());
    } catch (const JpegError& e) {
        throw ImageError(f.path, what + ": " + e.what());
    }
    if (h.width != f.cols || (h.height != 0 && h.height != f.rows) || h.components != f.samples)
        throw ImageError(f.path, what + ": " +
                                     sizeMismatch(unsigned(h.width), unsigned(h.height),
                                                  unsigned(h.components), f));
    const std::uint64_t bits = jpegMinimumBits(h, f.rows);
    if (bits > 8ull * bytes.size())
        throw ImageError(f.path, what + ": " + std::to_string(bytes.size()) +
                                     " bytes of codestream cannot hold a " +
                                     std::to_string(f.cols) + "x" + std::to_string(f.rows) +
                                     " frame (it needs at least " + std::to_string((bits + 7) / 8) +
                                     ")");
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
    checkJpegFrame(f, frame);
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

}  // namespace lucida::dicom
