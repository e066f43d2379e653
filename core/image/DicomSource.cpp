// DICOM through DCMTK. Headers are parsed at open (pixel values stay on disk: DCMTK loads large
// elements lazily), slice 0 is decoded eagerly so a broken file fails at open, and every other
// frame is decoded on first use and kept. DCMTK objects are not thread-safe: one mutex guards them
// and the frame cache.
#include "image/DicomSource.h"

#include "image/DicomFile.h"
#include "image/DicomFrames.h"
#include "image/DicomSeriesScan.h"
#include "image/ImageError.h"
#include "image/RegionCopy.h"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmimage/diregist.h>  // registers the colour image classes with DicomImage
#include <dcmtk/dcmimgle/dcmimage.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <mutex>

namespace lucida {

namespace fs = std::filesystem;
using namespace dicom;

namespace {

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

    // What opening found besides the files, for the properties.
    struct Opened {
        bool folder = false;  // a folder or DICOMDIR
        std::vector<std::pair<std::string, std::string>> skipped;
        std::vector<DicomSeries> series;
        std::string order, source;
    };
    Opened openFiles(const std::string& path, const std::optional<std::string>& seriesUid);
    void addSeriesProperties(const std::string& path, const Opened& o);
    void setGrayMapping(const std::string& modality);
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
    checkJpegFrame(f, frame);
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

namespace {

// A chosen series that has a folder of its own (as in file-sets: PT*/ST*/SE*) is named by that
// folder, which opens just this series again (recent files, results). Empty when it has none.
std::string ownFolder(const std::string& path, const std::string& uid,
                      const std::vector<DicomSeries>& series) {
    std::error_code ec;
    auto chosen = std::find_if(series.begin(), series.end(),
                               [&](const DicomSeries& s) { return s.uid == uid; });
    const std::string own = chosen != series.end() ? chosen->folder : std::string();
    const fs::path root =
        fs::is_directory(path, ec) ? fs::path(path) : fs::path(path).parent_path();
    const bool alone = !own.empty() && fs::path(own) != root &&
                       std::none_of(series.begin(), series.end(), [&](const DicomSeries& s) {
                           return s.uid != uid && (s.folder + "/").rfind(own + "/", 0) == 0;
                       });
    return alone ? own : std::string();
}

// Pixel spacing into `info`; returns the attribute it came from, or null when there is none.
// PixelSpacing is "row spacing\column spacing": the first is the vertical (Y) step.
const char* readSpacing(DcmDataset* ds, ImageInfo& info) {
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
    return spacingSource;
}

// The header attributes shown as "dicom.<name>" properties, when present.
void addHeaderProperties(DcmDataset* ds, std::vector<std::pair<std::string, std::string>>& props) {
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
}

}  // namespace

// The files to show: the chosen (or largest) series of a folder or DICOMDIR, sorted, or one file.
DicomSource::Impl::Opened DicomSource::Impl::openFiles(
    const std::string& path, const std::optional<std::string>& seriesUid) {
    Opened o;
    std::error_code ec;
    o.folder = fs::is_directory(path, ec) || isDicomdirFile(path);
    if (o.folder) {
        SeriesScan scan = scanSeries(path, seriesUid);
        files = std::move(scan.files);
        o.skipped = std::move(scan.skipped);
        o.series = std::move(scan.series);
        o.source = scan.source;
        if (files.empty())
            throw ImageError(path, "no image of the series has the series' size and colour");
        o.order = sortFiles(files);
        if (seriesUid)
            if (std::string own = ownFolder(path, *seriesUid, o.series); !own.empty())
                info.path = own;
    } else {
        if (seriesUid)
            throw ImageError(path, "a series can be chosen in a folder or DICOMDIR only");
        files.push_back(parseFile(path));
    }
    for (std::size_t i = 0; i < files.size(); ++i)
        for (int k = 0; k < files[i].frames; ++k) slices.push_back({i, k});
    if (slices.size() > std::size_t(kMaxFrames))
        throw ImageError(path, "absurd dimensions: " + std::to_string(slices.size()) + " slices");
    return o;
}

// The series-level properties of a folder or DICOMDIR: how it was read, and every series found,
// largest first (`lucida-cli info` lists them, the viewer offers them).
void DicomSource::Impl::addSeriesProperties(const std::string& path, const Opened& o) {
    auto& props = info.properties;
    std::error_code ec;
    props.emplace_back("dicom.series_source", o.source == "DICOMDIR"
                                                  ? "DICOMDIR"
                                                  : "files in the folder and its subfolders");
    props.emplace_back("dicom.series_count", std::to_string(o.series.size()));
    const std::string chosen = getString(files.front().ds(), DCM_SeriesInstanceUID);
    for (std::size_t i = 0; i < o.series.size(); ++i)
        props.emplace_back(
            "dicom.series." + std::to_string(i + 1),
            describe(o.series[i],
                     fs::is_directory(path, ec) ? fs::path(path) : fs::path(path).parent_path()) +
                (o.series[i].uid == chosen ? " (shown)" : ""));
}

// Greyscale: the first file's modality LUT becomes the image's; other files are re-mapped to it.
void DicomSource::Impl::setGrayMapping(const std::string& modality) {
    const DicomFile& first = files.front();
    DcmDataset* ds = first.ds();
    auto& props = info.properties;
    mapping.slope = first.mapSlope();
    mapping.intercept = first.mapIntercept();
    mapping.unit = first.unit.empty() ? getString(ds, DCM_RescaleType) : first.unit;
    if (mapping.unit.empty() || mapping.unit == "US")  // US: unspecified
        mapping.unit = modality == "CT" ? "HU" : "";
    info.grayMapping = mapping;
    const bool varies = std::any_of(files.begin(), files.end(), [&](const DicomFile& f) {
        return f.mapSlope() != mapping.slope || f.mapIntercept() != mapping.intercept;
    });
    if (varies)
        props.emplace_back("dicom.rescale_varies",
                           "slices re-mapped to the first slice's slope/intercept");
    if (first.wide())
        props.emplace_back("dicom.value_step", "32-bit values held in steps of " +
                                                   std::to_string(first.step) +
                                                   (first.step == 1 || first.step > 1 ? "" : "") +
                                                   " from " + std::to_string(first.base));
}

DicomSource::DicomSource(const std::string& path, SeriesChoice choice)
    : impl_(std::make_unique<Impl>()) {
    registerCodecsOnce();
    Impl& m = *impl_;
    ImageInfo& info = m.info;
    info.path = path;
    const Impl::Opened opened = m.openFiles(path, choice.uid);
    const bool folder = opened.folder;

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
                               (opened.source == "DICOMDIR" ? ", from DICOMDIR" : "") + ")"
                         : "DICOM (" + (modality.empty() ? "" : modality + ", ") + syntax + ")";
    const char* spacingSource = readSpacing(ds, info);

    auto& props = info.properties;
    addHeaderProperties(ds, props);
    props.emplace_back("dicom.TransferSyntax", syntax);
    props.emplace_back("dicom.photometric", first.photometric);
    if (spacingSource) props.emplace_back("dicom.spacing_source", spacingSource);
    if (folder) {
        props.emplace_back("dicom.series_files", std::to_string(m.files.size()));
        props.emplace_back("dicom.slice_order", opened.order);
    }
    if (!opened.skipped.empty())
        props.emplace_back("dicom.skipped_files", joinSkipped(opened.skipped));
    if (folder) m.addSeriesProperties(path, opened);
    if (!first.colour) m.setGrayMapping(modality);

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
