#include "image/PyramidTiffWriter.h"

#include <tiffio.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <stdexcept>

namespace lucida {

namespace {

// Reduced levels up to this size stay in memory; bigger ones go to an unlinked temporary file.
constexpr std::int64_t kMaxInMemoryLevelBytes = 64LL << 20;
// Above this many raw bytes (all levels, JPEG counted at half) the file becomes a BigTIFF.
constexpr double kBigTiffThreshold = 3.5 * 1024.0 * 1024.0 * 1024.0;

int bytesPerPixel(PyramidSampleType t) { return t == PyramidSampleType::Rgb8 ? 3 : 4; }

std::string systemError(int error) { return error ? std::string(std::strerror(error)) : ""; }

// Creates `<base>.tmp-XXXXXX`; returns its descriptor and sets `name`.
int makeTemporary(const std::string& base, std::string& name) {
    std::string pattern = base + ".tmp-XXXXXX";
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    const int fd = ::mkstemp(buffer.data());
    if (fd < 0) {
        const int error = errno;
        throw std::runtime_error(
            base + ": cannot create a temporary file beside it: " + systemError(error));
    }
    name.assign(buffer.data());
    return fd;
}

// Raw rows of one reduced level, appended top to bottom and read back in bands.
class RowStore {
public:
    RowStore(std::int64_t width, std::int64_t height, int bpp, const std::string& outputPath)
        : rowBytes_(static_cast<std::size_t>(width) * static_cast<std::size_t>(bpp)),
          height_(height),
          outputPath_(outputPath) {
        const std::int64_t total = static_cast<std::int64_t>(rowBytes_) * height;
        if (total <= kMaxInMemoryLevelBytes) {
            memory_.resize(static_cast<std::size_t>(total));
            return;
        }
        std::string name;
        fd_ = makeTemporary(outputPath, name);
        ::unlink(name.c_str());  // gone with the descriptor, even after a crash
    }
    ~RowStore() {
        if (fd_ >= 0) ::close(fd_);
    }
    RowStore(const RowStore&) = delete;
    RowStore& operator=(const RowStore&) = delete;

    std::size_t rowBytes() const { return rowBytes_; }
    std::int64_t rowsStored() const { return rows_; }

    void append(const std::uint8_t* data, std::int64_t rows) {
        rows = std::min(rows, height_ - rows_);
        const std::size_t bytes = rowBytes_ * static_cast<std::size_t>(rows);
        const std::size_t offset = rowBytes_ * static_cast<std::size_t>(rows_);
        if (fd_ < 0) {
            std::memcpy(memory_.data() + offset, data, bytes);
        } else {
            std::size_t done = 0;
            while (done < bytes) {
                const ssize_t n =
                    ::pwrite(fd_, data + done, bytes - done, static_cast<off_t>(offset + done));
                if (n < 0 && errno == EINTR) continue;
                if (n <= 0) {
                    const int error = n < 0 ? errno : ENOSPC;
                    throw std::runtime_error(outputPath_ +
                                             ": cannot write the temporary file of a reduced "
                                             "level: " +
                                             systemError(error));
                }
                done += static_cast<std::size_t>(n);
            }
        }
        rows_ += rows;
    }

    void read(std::int64_t row, std::int64_t rows, std::uint8_t* dst) const {
        const std::size_t bytes = rowBytes_ * static_cast<std::size_t>(rows);
        const std::size_t offset = rowBytes_ * static_cast<std::size_t>(row);
        if (fd_ < 0) {
            std::memcpy(dst, memory_.data() + offset, bytes);
            return;
        }
        std::size_t done = 0;
        while (done < bytes) {
            const ssize_t n =
                ::pread(fd_, dst + done, bytes - done, static_cast<off_t>(offset + done));
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                const int error = n < 0 ? errno : EIO;
                throw std::runtime_error(outputPath_ +
                                         ": cannot read back the temporary file of a reduced "
                                         "level: " +
                                         systemError(error));
            }
            done += static_cast<std::size_t>(n);
        }
    }

private:
    std::size_t rowBytes_;
    std::int64_t height_;
    std::int64_t rows_ = 0;
    std::string outputPath_;
    std::vector<std::uint8_t> memory_;
    int fd_ = -1;
};

// 2 x 2 box average of `rows` rows of `width` pixels into ceil(width/2) x ceil(rows/2); an odd
// last column or row is averaged with itself.
void reduceRows(PyramidSampleType type, const std::uint8_t* src, std::size_t srcStride,
                std::int64_t width, std::int64_t rows, std::uint8_t* dst, std::size_t dstStride) {
    const std::int64_t outW = (width + 1) / 2;
    const std::int64_t outH = (rows + 1) / 2;
    for (std::int64_t oy = 0; oy < outH; ++oy) {
        const std::uint8_t* r0 = src + srcStride * static_cast<std::size_t>(2 * oy);
        const std::uint8_t* r1 =
            src + srcStride * static_cast<std::size_t>(std::min(2 * oy + 1, rows - 1));
        std::uint8_t* out = dst + dstStride * static_cast<std::size_t>(oy);
        if (type == PyramidSampleType::Rgb8) {
            for (std::int64_t ox = 0; ox < outW; ++ox) {
                const std::int64_t x0 = 2 * ox;
                const std::int64_t x1 = std::min(x0 + 1, width - 1);
                for (int c = 0; c < 3; ++c) {
                    const unsigned sum =
                        r0[3 * x0 + c] + r0[3 * x1 + c] + r1[3 * x0 + c] + r1[3 * x1 + c] + 2u;
                    out[3 * ox + c] = static_cast<std::uint8_t>(sum >> 2);
                }
            }
        } else {
            const float* f0 = reinterpret_cast<const float*>(r0);
            const float* f1 = reinterpret_cast<const float*>(r1);
            float* o = reinterpret_cast<float*>(out);
            for (std::int64_t ox = 0; ox < outW; ++ox) {
                const std::int64_t x0 = 2 * ox;
                const std::int64_t x1 = std::min(x0 + 1, width - 1);
                o[ox] = ((f0[x0] + f0[x1]) + (f1[x0] + f1[x1])) * 0.25f;
            }
        }
    }
}

std::string numberText(double v) {
    std::ostringstream s;
    s << v;
    return s.str();
}

std::string sanitised(std::string text) {
    for (char& c : text)
        if (c == '|' || c == '\n' || c == '\r') c = ' ';
    return text;
}

// libtiff's messages for one file go to that writer's string, never to stderr.
int captureError(TIFF*, void* user, const char* module, const char* fmt, va_list ap) {
    char text[1024];
    std::vsnprintf(text, sizeof text, fmt, ap);
    *static_cast<std::string*>(user) =
        (module && *module) ? std::string(module) + ": " + text : text;
    return 1;  // handled: libtiff's global handlers are not called
}
int ignoreWarning(TIFF*, void*, const char*, const char*, va_list) { return 1; }

}  // namespace

std::vector<PyramidLevelSize> pyramidLevelSizes(std::int64_t width, std::int64_t height,
                                                int tileSize) {
    std::vector<PyramidLevelSize> levels;
    if (width <= 0 || height <= 0 || tileSize <= 0) return levels;
    levels.push_back({width, height});
    while (width > tileSize || height > tileSize) {
        width = (width + 1) / 2;
        height = (height + 1) / 2;
        levels.push_back({width, height});
    }
    return levels;
}

struct PyramidTiffWriter::Impl {
    std::string path;
    std::string tmpPath;
    std::int64_t width = 0;
    std::int64_t height = 0;
    PyramidSampleType type = PyramidSampleType::Rgb8;
    PyramidTiffOptions options;
    int bpp = 3;
    int ts = 256;
    std::vector<PyramidLevelSize> levels;

    TIFF* tif = nullptr;
    std::string tiffMessage;  // libtiff's last error message for this file
    bool broken = false;      // a write failed: nothing more can be done but clean up
    bool done = false;

    std::vector<std::uint8_t> band;  // level-0 rows waiting for a full band
    std::int64_t bandRows = 0;
    std::int64_t rowsIn = 0;
    std::unique_ptr<RowStore> level1;
    std::vector<std::uint8_t> tile;
    std::vector<std::uint8_t> reduced;

    [[noreturn]] void fail(const std::string& what, int error = 0) {
        broken = true;
        std::string reason = what;
        if (!tiffMessage.empty()) reason += ": " + tiffMessage;
        if (error && reason.find(systemError(error)) == std::string::npos)
            reason += " (" + systemError(error) + ")";
        throw std::runtime_error(path + ": " + reason);
    }

    void open() {
        const int fd = makeTemporary(path, tmpPath);
        ::fchmod(fd, 0644);
        double rawBytes = 0;
        for (const auto& l : levels) rawBytes += double(l.width) * double(l.height) * bpp;
        if (type == PyramidSampleType::Rgb8 && options.compression == PyramidCompression::Jpeg)
            rawBytes *= 0.5;
        const char* mode = rawBytes > kBigTiffThreshold ? "w8" : "w";
        TIFFOpenOptions* opts = TIFFOpenOptionsAlloc();
        TIFFOpenOptionsSetErrorHandlerExtR(opts, captureError, &tiffMessage);
        TIFFOpenOptionsSetWarningHandlerExtR(opts, ignoreWarning, nullptr);
        errno = 0;
        tif = TIFFFdOpenExt(fd, tmpPath.c_str(), mode, opts);
        const int error = errno;
        TIFFOpenOptionsFree(opts);
        if (!tif) {
            ::close(fd);
            ::unlink(tmpPath.c_str());
            tmpPath.clear();
            fail("cannot start the TIFF file", error);
        }
    }

    std::string imageDescription() const {
        const bool aperio = options.aperioDescription && type == PyramidSampleType::Rgb8 &&
                            options.micronsPerPixel.has_value();
        if (!aperio) return options.description;
        const bool jpeg = options.compression == PyramidCompression::Jpeg;
        std::ostringstream s;
        s << "Aperio Image Library (Lucida PyramidTiffWriter)\n"
          << width << "x" << height << " [0,0 " << width << "x" << height << "] (" << ts << "x"
          << ts << ") "
          << (jpeg ? "JPEG/RGB Q=" + std::to_string(options.jpegQuality)
                   : std::string("Deflate/RGB"));
        if (options.objectivePower) s << "|AppMag = " << numberText(*options.objectivePower);
        s << "|MPP = " << numberText(*options.micronsPerPixel);
        if (!options.description.empty()) s << "|Description = " << sanitised(options.description);
        return s.str();
    }

    void beginLevel(int level) {
        const PyramidLevelSize& l = levels[static_cast<std::size_t>(level)];
        bool ok = true;
        auto set = [&](int result) { ok = ok && result == 1; };
        if (level > 0) set(TIFFSetField(tif, TIFFTAG_SUBFILETYPE, FILETYPE_REDUCEDIMAGE));
        set(TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, static_cast<std::uint32_t>(l.width)));
        set(TIFFSetField(tif, TIFFTAG_IMAGELENGTH, static_cast<std::uint32_t>(l.height)));
        set(TIFFSetField(tif, TIFFTAG_TILEWIDTH, static_cast<std::uint32_t>(tileWidth(level))));
        set(TIFFSetField(tif, TIFFTAG_TILELENGTH, static_cast<std::uint32_t>(tileHeight(level))));
        set(TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG));
        set(TIFFSetField(tif, TIFFTAG_ORIENTATION, ORIENTATION_TOPLEFT));
        if (type == PyramidSampleType::Rgb8) {
            set(TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, 8));
            set(TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, 3));
            set(TIFFSetField(tif, TIFFTAG_SAMPLEFORMAT, SAMPLEFORMAT_UINT));
            if (options.compression == PyramidCompression::Jpeg) {
                set(TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_JPEG));
                set(TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_YCBCR));
                set(TIFFSetField(tif, TIFFTAG_YCBCRSUBSAMPLING, 2, 2));
                set(TIFFSetField(tif, TIFFTAG_JPEGQUALITY, options.jpegQuality));
                // We hand libtiff RGB; its JPEG codec converts to YCbCr.
                set(TIFFSetField(tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB));
            } else {
                set(TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_ADOBE_DEFLATE));
                set(TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_RGB));
                set(TIFFSetField(tif, TIFFTAG_PREDICTOR, PREDICTOR_HORIZONTAL));
                set(TIFFSetField(tif, TIFFTAG_ZIPQUALITY, options.deflateLevel));
            }
        } else {
            set(TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, 32));
            set(TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, 1));
            set(TIFFSetField(tif, TIFFTAG_SAMPLEFORMAT, SAMPLEFORMAT_IEEEFP));
            set(TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK));
            set(TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_ADOBE_DEFLATE));
            set(TIFFSetField(tif, TIFFTAG_ZIPQUALITY, options.deflateLevel));
        }
        if (options.micronsPerPixel) {
            // Pixels per centimetre of this level (its downsample measured on the true sizes).
            const double x = 1e4 / *options.micronsPerPixel * double(l.width) / double(width);
            const double y = 1e4 / *options.micronsPerPixel * double(l.height) / double(height);
            set(TIFFSetField(tif, TIFFTAG_XRESOLUTION, x));
            set(TIFFSetField(tif, TIFFTAG_YRESOLUTION, y));
            set(TIFFSetField(tif, TIFFTAG_RESOLUTIONUNIT, RESUNIT_CENTIMETER));
        }
        set(TIFFSetField(tif, TIFFTAG_SOFTWARE, "Lucida"));
        if (level == 0) {
            const std::string description = imageDescription();
            if (!description.empty())
                set(TIFFSetField(tif, TIFFTAG_IMAGEDESCRIPTION, description.c_str()));
        }
        if (!ok) fail("cannot set the TIFF tags of level " + std::to_string(level));
    }

    // Tiles are never wider or taller than their level (when it is at least 16 px): OpenSlide 3.4
    // decodes non-JPEG tiles with TIFFRGBAImageGet at the tile's size, which libtiff >= 4.5
    // clips to the image size, garbling such tiles. Small levels get smaller tiles instead.
    int tileExtent(std::int64_t levelExtent) const {
        if (levelExtent >= ts) return ts;
        return static_cast<int>(std::max<std::int64_t>(16, levelExtent / 16 * 16));
    }
    int tileWidth(int level) const {
        return tileExtent(levels[static_cast<std::size_t>(level)].width);
    }
    int tileHeight(int level) const {
        return tileExtent(levels[static_cast<std::size_t>(level)].height);
    }

    // Compresses one band of a level (rows from `top`, at most ts of them) into its tiles. A
    // band is one row of tiles, or several when the level is shorter than a band (tileHeight).
    void writeBand(int level, const std::uint8_t* data, std::size_t stride, std::int64_t top,
                   std::int64_t rows) {
        const std::int64_t w = levels[static_cast<std::size_t>(level)].width;
        const int tileW = tileWidth(level);
        const int tileH = tileHeight(level);
        const std::size_t tileRow = static_cast<std::size_t>(tileW) * bpp;
        tile.resize(tileRow * static_cast<std::size_t>(tileH));
        for (std::int64_t y0 = 0; y0 < rows; y0 += tileH) {
            const std::int64_t th = std::min<std::int64_t>(tileH, rows - y0);
            for (std::int64_t x0 = 0; x0 < w; x0 += tileW) {
                const std::int64_t tw = std::min<std::int64_t>(tileW, w - x0);
                const std::size_t used = static_cast<std::size_t>(tw) * bpp;
                for (int y = 0; y < tileH; ++y) {
                    // Edge tiles repeat the last column and row: smooth for JPEG, never read.
                    const std::int64_t sy = y0 + std::min<std::int64_t>(y, th - 1);
                    std::uint8_t* dst = tile.data() + tileRow * static_cast<std::size_t>(y);
                    std::memcpy(dst,
                                data + stride * static_cast<std::size_t>(sy) +
                                    static_cast<std::size_t>(x0) * bpp,
                                used);
                    for (std::size_t off = used; off < tileRow; off += bpp)
                        std::memcpy(dst + off, dst + used - bpp, bpp);
                }
                const ttile_t index = TIFFComputeTile(tif, static_cast<std::uint32_t>(x0),
                                                      static_cast<std::uint32_t>(top + y0), 0, 0);
                errno = 0;
                if (TIFFWriteEncodedTile(tif, index, tile.data(),
                                         static_cast<tmsize_t>(tile.size())) < 0)
                    fail("cannot write tile " + std::to_string(index) + " of level " +
                             std::to_string(level),
                         errno);
            }
        }
    }

    void endLevel(int level) {
        errno = 0;
        if (!TIFFWriteDirectory(tif))
            fail("cannot write the directory of level " + std::to_string(level), errno);
    }

    // Writes one band of `level` and reduces it into `next` (when there is a next level).
    void processBand(int level, const std::uint8_t* data, std::size_t stride, std::int64_t top,
                     std::int64_t rows, RowStore* next) {
        writeBand(level, data, stride, top, rows);
        if (!next) return;
        const std::int64_t w = levels[static_cast<std::size_t>(level)].width;
        const std::size_t outStride = next->rowBytes();
        reduced.resize(outStride * static_cast<std::size_t>((rows + 1) / 2));
        reduceRows(type, data, stride, w, rows, reduced.data(), outStride);
        next->append(reduced.data(), (rows + 1) / 2);
    }

    std::unique_ptr<RowStore> storeFor(int level) {
        if (level >= static_cast<int>(levels.size())) return nullptr;
        const auto& l = levels[static_cast<std::size_t>(level)];
        return std::make_unique<RowStore>(l.width, l.height, bpp, path);
    }

    void append(const std::uint8_t* src, std::int64_t rows, std::size_t srcStride);

    void discard() noexcept {
        if (tif) {
            TIFFClose(tif);
            tif = nullptr;
        }
        if (!tmpPath.empty()) {
            ::unlink(tmpPath.c_str());
            tmpPath.clear();
        }
    }
};

PyramidTiffWriter::PyramidTiffWriter(std::string path, std::int64_t width, std::int64_t height,
                                     PyramidSampleType type, PyramidTiffOptions options)
    : impl_(std::make_unique<Impl>()) {
    Impl& d = *impl_;
    d.path = std::move(path);
    d.width = width;
    d.height = height;
    d.type = type;
    d.options = std::move(options);
    d.bpp = bytesPerPixel(type);
    d.ts = d.options.tileSize;
    const auto bad = [&](const std::string& why) {
        throw std::invalid_argument(d.path + ": " + why);
    };
    if (width <= 0 || height <= 0 || width > 0xFFFFFFFFLL || height > 0xFFFFFFFFLL)
        bad("invalid image size " + std::to_string(width) + " x " + std::to_string(height));
    if (d.ts < 16 || d.ts > 4096 || d.ts % 16 != 0)
        bad("tile size must be a multiple of 16 from 16 to 4096, not " + std::to_string(d.ts));
    if (d.options.jpegQuality < 1 || d.options.jpegQuality > 100)
        bad("JPEG quality must be 1..100, not " + std::to_string(d.options.jpegQuality));
    if (d.options.deflateLevel < 1 || d.options.deflateLevel > 9)
        bad("deflate level must be 1..9, not " + std::to_string(d.options.deflateLevel));
    if (d.options.micronsPerPixel && !(*d.options.micronsPerPixel > 0))
        bad("microns per pixel must be positive");
    d.levels = pyramidLevelSizes(width, height, d.ts);
    d.open();
    try {
        d.beginLevel(0);
        d.level1 = d.storeFor(1);
        d.band.resize(static_cast<std::size_t>(width) * d.bpp * static_cast<std::size_t>(d.ts));
    } catch (...) {
        d.discard();
        throw;
    }
}

PyramidTiffWriter::~PyramidTiffWriter() {
    if (!impl_->done) impl_->discard();
}

const std::string& PyramidTiffWriter::path() const { return impl_->path; }
const std::vector<PyramidLevelSize>& PyramidTiffWriter::levels() const { return impl_->levels; }
int PyramidTiffWriter::tileSize() const { return impl_->ts; }
std::int64_t PyramidTiffWriter::rowsWritten() const { return impl_->rowsIn; }

void PyramidTiffWriter::appendRows(const RasterView& rows) {
    Impl& d = *impl_;
    if (d.done || d.broken)
        throw std::logic_error(d.path + ": appendRows after finish() or a failed write");
    if (rows.width != d.width)
        throw std::invalid_argument(d.path + ": rows are " + std::to_string(rows.width) +
                                    " pixels wide, the image " + std::to_string(d.width));
    if (rows.height < 0 || d.rowsIn + rows.height > d.height)
        throw std::invalid_argument(d.path + ": more rows than the image height " +
                                    std::to_string(d.height));
    if (rows.height > 0 && (!rows.data || rows.stride < static_cast<std::size_t>(d.width) * d.bpp))
        throw std::invalid_argument(d.path + ": invalid row data or stride");
    try {
        d.append(static_cast<const std::uint8_t*>(rows.data), rows.height, rows.stride);
    } catch (...) {
        d.broken = true;
        throw;
    }
}

void PyramidTiffWriter::Impl::append(const std::uint8_t* src, std::int64_t left,
                                     std::size_t srcStride) {
    Impl& d = *this;
    const std::size_t rowBytes = static_cast<std::size_t>(d.width) * d.bpp;
    while (left > 0) {
        const std::int64_t top = d.rowsIn - d.bandRows;  // level-0 row of the band's first row
        const std::int64_t bandHeight = std::min<std::int64_t>(d.ts, d.height - top);
        if (d.bandRows == 0 && left >= bandHeight) {
            // A whole band straight from the caller's memory.
            d.processBand(0, src, srcStride, top, bandHeight, d.level1.get());
            src += srcStride * static_cast<std::size_t>(bandHeight);
            left -= bandHeight;
            d.rowsIn += bandHeight;
            continue;
        }
        const std::int64_t take = std::min(left, bandHeight - d.bandRows);
        for (std::int64_t y = 0; y < take; ++y)
            std::memcpy(d.band.data() + rowBytes * static_cast<std::size_t>(d.bandRows + y),
                        src + srcStride * static_cast<std::size_t>(y), rowBytes);
        src += srcStride * static_cast<std::size_t>(take);
        left -= take;
        d.bandRows += take;
        d.rowsIn += take;
        if (d.bandRows == bandHeight) {
            d.processBand(0, d.band.data(), rowBytes, top, bandHeight, d.level1.get());
            d.bandRows = 0;
        }
    }
}

void PyramidTiffWriter::finish() {
    Impl& d = *impl_;
    if (d.done || d.broken)
        throw std::logic_error(d.path + ": finish() after finish() or a failed write");
    if (d.rowsIn != d.height)
        throw std::logic_error(d.path + ": finish() after " + std::to_string(d.rowsIn) + " of " +
                               std::to_string(d.height) + " rows");
    try {
        d.endLevel(0);
        d.band = {};
        std::unique_ptr<RowStore> current = std::move(d.level1);
        std::vector<std::uint8_t> levelBand;
        for (int level = 1; level < static_cast<int>(d.levels.size()); ++level) {
            d.beginLevel(level);
            std::unique_ptr<RowStore> next = d.storeFor(level + 1);
            const std::int64_t h = d.levels[static_cast<std::size_t>(level)].height;
            levelBand.resize(current->rowBytes() * static_cast<std::size_t>(d.ts));
            for (std::int64_t top = 0; top < h; top += d.ts) {
                const std::int64_t rows = std::min<std::int64_t>(d.ts, h - top);
                current->read(top, rows, levelBand.data());
                d.processBand(level, levelBand.data(), current->rowBytes(), top, rows, next.get());
            }
            d.endLevel(level);
            current = std::move(next);
        }
        errno = 0;
        if (!TIFFFlush(d.tif)) d.fail("cannot flush the TIFF file", errno);
        TIFFClose(d.tif);
        d.tif = nullptr;
        std::error_code ec;
        std::filesystem::rename(d.tmpPath, d.path, ec);
        if (ec) d.fail("cannot rename " + d.tmpPath + " onto it: " + ec.message());
        d.tmpPath.clear();
        d.done = true;
    } catch (...) {
        d.broken = true;
        d.discard();
        throw;
    }
}

void writePyramidTiff(const std::string& path, std::int64_t width, std::int64_t height,
                      PyramidSampleType type, const PyramidTiffOptions& options,
                      const PyramidTileFill& fill) {
    PyramidTiffWriter writer(path, width, height, type, options);
    const int ts = writer.tileSize();
    const std::size_t stride = static_cast<std::size_t>(width) * bytesPerPixel(type);
    std::vector<std::uint8_t> band(stride * static_cast<std::size_t>(ts));
    for (std::int64_t y = 0; y < height; y += ts) {
        const int h = static_cast<int>(std::min<std::int64_t>(ts, height - y));
        for (std::int64_t x = 0; x < width; x += ts) {
            const int w = static_cast<int>(std::min<std::int64_t>(ts, width - x));
            fill(x, y, w, h, band.data() + static_cast<std::size_t>(x) * bytesPerPixel(type),
                 stride);
        }
        writer.appendRows({band.data(), static_cast<int>(width), h, stride});
    }
    writer.finish();
}

void writePyramidTiff(const std::string& path, const RasterView& image, PyramidSampleType type,
                      const PyramidTiffOptions& options) {
    PyramidTiffWriter writer(path, image.width, image.height, type, options);
    writer.appendRows(image);
    writer.finish();
}

}  // namespace lucida
