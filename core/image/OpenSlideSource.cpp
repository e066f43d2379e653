#include "image/OpenSlideSource.h"

#include "image/ImageError.h"

#include <openslide.h>
#include <tiffio.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>

namespace lucida {

namespace {

// Larger level-0 sizes are not slides but broken headers (the biggest real slides are ~2e10 px).
constexpr double kMaxSlidePixels = 1e11;
// The coarsest level is read at open to surface truncation early, when it is at most this big.
constexpr std::int64_t kOpenCheckMaxPixels = 4096 * 4096;

// OpenSlide allocates a whole TIFF tile (width x height x 4 bytes, through GLib, which aborts the
// process when that fails) for every tile it reads: a header declaring 500,000-pixel tiles asks
// for a terabyte (fuzz_image_raster found one). Real slides use tiles of 240 to 2048 pixels.
constexpr double kMaxTilePixels = 8192.0 * 8192.0;
constexpr int kMaxTiffDirectories = 4096;

std::uint64_t readUnsigned(const unsigned char* p, int bytes, bool littleEndian) {
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i)
        v |= std::uint64_t{p[littleEndian ? i : bytes - 1 - i]} << (8 * i);
    return v;
}

// Bytes per value of a TIFF field type (0: unknown types, which carry no size to check).
int tiffTypeSize(std::uint64_t type) {
    static constexpr int kSizes[] = {0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4, 0, 0, 8, 8, 8};
    return type < std::size(kSizes) ? kSizes[type] : 0;
}

// OpenSlide's own TIFF reader allocates count x size for every tag value before reading it: a
// 948-byte file declaring a 4 GB tag made openslide_detect_vendor allocate 4 GB
// (fuzz_image_slide). Every directory entry's value must fit inside the file.
void checkTiffTagSizes(const std::string& path) {
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in) return;
    const auto fileSize = static_cast<std::uint64_t>(in.tellg());
    unsigned char h[16] = {};
    in.seekg(0);
    if (fileSize < 16 || !in.read(reinterpret_cast<char*>(h), 16)) return;
    const bool le = h[0] == 'I' && h[1] == 'I';
    if (!le && !(h[0] == 'M' && h[1] == 'M')) return;
    const std::uint64_t magic = readUnsigned(h + 2, 2, le);
    if (magic != 42 && magic != 43) return;
    const bool big = magic == 43;
    const int countBytes = big ? 8 : 2, entryBytes = big ? 20 : 12, valueCountBytes = big ? 8 : 4;
    std::uint64_t offset = big ? readUnsigned(h + 8, 8, le) : readUnsigned(h + 4, 4, le);
    for (int directory = 0; offset != 0; ++directory) {
        if (directory >= kMaxTiffDirectories)
            throw ImageError(
                path, "TIFF has more than " + std::to_string(kMaxTiffDirectories) + " directories");
        unsigned char buf[20];
        if (offset > fileSize - countBytes) return;  // libtiff and OpenSlide refuse it themselves
        in.seekg(static_cast<std::streamoff>(offset));
        if (!in.read(reinterpret_cast<char*>(buf), countBytes)) return;
        const std::uint64_t entries = readUnsigned(buf, countBytes, le);
        if (entries > (fileSize - offset) / entryBytes) return;  // a directory past the end
        for (std::uint64_t e = 0; e < entries; ++e) {
            if (!in.read(reinterpret_cast<char*>(buf), entryBytes)) return;
            const std::uint64_t tag = readUnsigned(buf, 2, le);
            const int size = tiffTypeSize(readUnsigned(buf + 2, 2, le));
            const std::uint64_t count = readUnsigned(buf + 4, valueCountBytes, le);
            if (size > 0 && count > fileSize / static_cast<std::uint64_t>(size))
                throw ImageError(path, "TIFF directory " + std::to_string(directory) + " tag " +
                                           std::to_string(tag) + " declares " +
                                           std::to_string(count) + " values, more than the " +
                                           std::to_string(fileSize) + "-byte file holds");
        }
        if (!in.read(reinterpret_cast<char*>(buf), big ? 8 : 4)) return;
        offset = readUnsigned(buf, big ? 8 : 4, le);
    }
}

void checkTiffTiles(const std::string& path) {
    TIFFSetErrorHandler(nullptr);
    TIFFSetWarningHandler(nullptr);
    std::unique_ptr<TIFF, void (*)(TIFF*)> tif(TIFFOpen(path.c_str(), "r"), TIFFClose);
    if (!tif) return;  // not a TIFF: OpenSlide's other formats
    int directories = 0;
    do {
        if (++directories > kMaxTiffDirectories)
            throw ImageError(
                path, "TIFF has more than " + std::to_string(kMaxTiffDirectories) + " directories");
        std::uint32_t tw = 0, th = 0;
        if (TIFFIsTiled(tif.get()) && TIFFGetField(tif.get(), TIFFTAG_TILEWIDTH, &tw) &&
            TIFFGetField(tif.get(), TIFFTAG_TILELENGTH, &th) &&
            static_cast<double>(tw) * static_cast<double>(th) > kMaxTilePixels)
            throw ImageError(path, "TIFF directory " + std::to_string(directories - 1) +
                                       " declares tiles of " + std::to_string(tw) + " x " +
                                       std::to_string(th) + " pixels (at most 8192 x 8192 read)");
    } while (TIFFReadDirectory(tif.get()));
}

std::optional<double> numberProperty(openslide_t* osr, const char* name) {
    const char* v = openslide_get_property_value(osr, name);
    if (!v || !*v) return std::nullopt;
    try {
        const double d = std::stod(v);
        if (std::isfinite(d) && d > 0) return d;
    } catch (...) {
    }
    return std::nullopt;
}

// OpenSlide gives premultiplied ARGB in native-endian uint32s; we hand out straight RGBA bytes.
void argbToRgba(const std::uint32_t* argb, std::uint8_t* rgba, std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) {
        const std::uint32_t p = argb[i];
        const std::uint32_t a = p >> 24;
        std::uint8_t* o = rgba + 4 * i;
        if (a == 255) {
            o[0] = static_cast<std::uint8_t>(p >> 16);
            o[1] = static_cast<std::uint8_t>(p >> 8);
            o[2] = static_cast<std::uint8_t>(p);
            o[3] = 255;
        } else if (a == 0) {
            std::memset(o, 0, 4);
        } else {
            o[0] = static_cast<std::uint8_t>((((p >> 16) & 0xFF) * 255 + a / 2) / a);
            o[1] = static_cast<std::uint8_t>((((p >> 8) & 0xFF) * 255 + a / 2) / a);
            o[2] = static_cast<std::uint8_t>(((p & 0xFF) * 255 + a / 2) / a);
            o[3] = static_cast<std::uint8_t>(a);
        }
    }
}

}  // namespace

struct OpenSlideSource::Impl {
    ImageInfo info;
    openslide_t* osr = nullptr;

    void throwIfError() const {
        if (const char* err = openslide_get_error(osr)) throw ImageError(info.path, err);
    }
};

ImageFormat OpenSlideSource::format() {
    return {"Whole slide (OpenSlide)",
            {"svs", "tif", "tiff", "ndpi", "vms", "vmu", "scn", "mrxs", "svslide", "bif"},
            [](const FileProbe& p) {
                if (p.isDirectory) return false;
                checkTiffTagSizes(p.path);
                return openslide_detect_vendor(p.path.c_str()) != nullptr;
            },
            [](const FileProbe& p) { return std::make_unique<OpenSlideSource>(p.path); }};
}

OpenSlideSource::OpenSlideSource(const std::string& path) : impl_(std::make_unique<Impl>()) {
    ImageInfo& info = impl_->info;
    info.path = path;
    checkTiffTagSizes(path);
    const char* vendor = openslide_detect_vendor(path.c_str());
    checkTiffTiles(path);
    impl_->osr = openslide_open(path.c_str());
    if (!impl_->osr) throw ImageError(path, "not a slide format OpenSlide reads");
    try {
        impl_->throwIfError();
        info.format = std::string(vendor ? vendor : "slide") + " (OpenSlide)";
        const std::int32_t count = openslide_get_level_count(impl_->osr);
        impl_->throwIfError();
        if (count <= 0) throw ImageError(path, "slide has no levels");
        for (std::int32_t i = 0; i < count; ++i) {
            std::int64_t w = 0, h = 0;
            openslide_get_level_dimensions(impl_->osr, i, &w, &h);
            const double ds = openslide_get_level_downsample(impl_->osr, i);
            if (w <= 0 || h <= 0 || !(ds >= 1.0))
                throw ImageError(path, "level " + std::to_string(i) + " has invalid dimensions");
            info.levels.push_back({w, h, ds});
        }
        if (static_cast<double>(info.width()) * static_cast<double>(info.height()) >
            kMaxSlidePixels)
            throw ImageError(path, "header declares absurd dimensions " +
                                       std::to_string(info.width()) + " x " +
                                       std::to_string(info.height()));
        info.mppX = numberProperty(impl_->osr, OPENSLIDE_PROPERTY_NAME_MPP_X);
        info.mppY = numberProperty(impl_->osr, OPENSLIDE_PROPERTY_NAME_MPP_Y);
        info.objectivePower = numberProperty(impl_->osr, OPENSLIDE_PROPERTY_NAME_OBJECTIVE_POWER);
        for (const char* const* n = openslide_get_property_names(impl_->osr); n && *n; ++n) {
            const char* v = openslide_get_property_value(impl_->osr, *n);
            info.properties.emplace_back(*n, v ? v : "");
        }
        for (const char* const* n = openslide_get_associated_image_names(impl_->osr); n && *n; ++n)
            info.associatedImages.emplace_back(*n);
        impl_->throwIfError();

        const Level& coarsest = info.levels.back();
        if (coarsest.width * coarsest.height <= kOpenCheckMaxPixels)
            readRegion(static_cast<int>(info.levels.size()) - 1,
                       {0, 0, coarsest.width, coarsest.height}, 0);
    } catch (...) {
        openslide_close(impl_->osr);
        throw;
    }
}

OpenSlideSource::~OpenSlideSource() { openslide_close(impl_->osr); }

const ImageInfo& OpenSlideSource::info() const { return impl_->info; }

PixelBuffer OpenSlideSource::readRegion(int level, const Rect& rect, int slice) const {
    const ImageInfo& info = impl_->info;
    if (level < 0 || level >= static_cast<int>(info.levels.size()))
        throw ImageError(info.path, "no level " + std::to_string(level));
    if (slice != 0) throw ImageError(info.path, "no slice " + std::to_string(slice));
    impl_->throwIfError();
    PixelBuffer out(static_cast<int>(rect.width), static_cast<int>(rect.height),
                    PixelFormat::Rgba8);
    if (out.empty()) return out;
    // OpenSlide takes the top-left corner in level-0 coordinates and the size in level pixels.
    const double ds = info.levels[static_cast<std::size_t>(level)].downsample;
    const auto x0 = static_cast<std::int64_t>(std::llround(static_cast<double>(rect.x) * ds));
    const auto y0 = static_cast<std::int64_t>(std::llround(static_cast<double>(rect.y) * ds));
    std::vector<std::uint32_t> argb(static_cast<std::size_t>(rect.width) *
                                    static_cast<std::size_t>(rect.height));
    openslide_read_region(impl_->osr, argb.data(), x0, y0, level, rect.width, rect.height);
    impl_->throwIfError();
    argbToRgba(argb.data(), out.bytes.data(), argb.size());
    return out;
}

PixelBuffer OpenSlideSource::readAssociatedImage(const std::string& name) const {
    const ImageInfo& info = impl_->info;
    if (std::find(info.associatedImages.begin(), info.associatedImages.end(), name) ==
        info.associatedImages.end())
        return ImageSource::readAssociatedImage(name);
    std::int64_t w = 0, h = 0;
    openslide_get_associated_image_dimensions(impl_->osr, name.c_str(), &w, &h);
    impl_->throwIfError();
    if (w <= 0 || h <= 0 ||
        static_cast<double>(w) * static_cast<double>(h) > kOpenCheckMaxPixels * 4.0)
        throw ImageError(info.path, "associated image '" + name + "' has invalid dimensions");
    std::vector<std::uint32_t> argb(static_cast<std::size_t>(w * h));
    openslide_read_associated_image(impl_->osr, name.c_str(), argb.data());
    impl_->throwIfError();
    PixelBuffer out(static_cast<int>(w), static_cast<int>(h), PixelFormat::Rgba8);
    argbToRgba(argb.data(), out.bytes.data(), argb.size());
    return out;
}

}  // namespace lucida
