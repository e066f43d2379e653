#pragma once
// A streaming writer of tiled pyramidal TIFFs that OpenSlide, libvips and QuPath open: level 0 and
// levels downsampled by 2 (2 x 2 box average) until a level fits in one tile, each level a further
// top-level IFD (not a SubIFD) with NewSubfileType = reduced-resolution, as OpenSlide's
// generic-tiff and aperio readers expect.
//
// Level 0 is handed over in bands of rows and never needs to be in memory whole: its tiles are
// compressed into the file as each band of tileSize rows completes, and the band is reduced into
// level 1. Levels 1 and below are kept as raw pixels (in memory when small, else in an unlinked
// temporary file beside the output) and are written after level 0, each reducing into the next.
// Memory use is about three bands of level 0 (width x tileSize pixels each).
//
// The file is written as `<path>.tmp-XXXXXX` and renamed onto `path` by finish(): a crash or an
// error never leaves a half-written file under the final name. Errors throw std::runtime_error
// naming the file and the reason (libtiff's own message, and the system's, e.g. "No space left on
// device"); libtiff's messages are captured per file, never printed.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace lucida {

enum class PyramidSampleType {
    Rgb8,     // 3 bytes per pixel, R, G, B
    Float32,  // one native float per pixel (SampleFormat IEEEFP), e.g. a probability map
};

enum class PyramidCompression { Jpeg, Deflate };

struct PyramidTiffOptions {
    // A multiple of 16, 16 to 4096. A level narrower (shorter) than this gets tiles of its width
    // (height) rounded down to a multiple of 16: OpenSlide 3.4 with libtiff >= 4.5 misreads
    // non-JPEG tiles that are bigger than their level.
    int tileSize = 256;
    // Rgb8 only: JPEG (YCbCr 4:2:0, like scanners and libvips) or lossless deflate with the
    // horizontal predictor. Float32 is always deflate.
    PyramidCompression compression = PyramidCompression::Jpeg;
    int jpegQuality = 90;  // 1..100
    int deflateLevel = 6;  // 1..9
    // Level-0 pixel size; written as XResolution/YResolution in pixels per centimetre.
    std::optional<double> micronsPerPixel;
    std::optional<double> objectivePower;  // e.g. 20 for a 20x scan
    // Free text for the ImageDescription of level 0.
    std::string description;
    // OpenSlide 3.4 reports no pixel size or objective power for generic TIFFs. With this set (and
    // an Rgb8 image with micronsPerPixel), level 0's ImageDescription follows Aperio's convention
    // ("Aperio Image Library …|AppMag = 20|MPP = 0.5|…"), so OpenSlide opens the file as `aperio`
    // with openslide.mpp-x/y and openslide.objective-power; libvips and QuPath read it either way.
    bool aperioDescription = true;
};

// A borrowed, row-major raster in the writer's sample type. `stride` is in bytes.
struct RasterView {
    const void* data = nullptr;
    int width = 0;
    int height = 0;
    std::size_t stride = 0;
};

struct PyramidLevelSize {
    std::int64_t width = 0;
    std::int64_t height = 0;
};

// The level sizes a pyramid of width x height gets: level 0, then ceil(w/2) x ceil(h/2) … until
// a level fits in one tile.
std::vector<PyramidLevelSize> pyramidLevelSizes(std::int64_t width, std::int64_t height,
                                                int tileSize);

class PyramidTiffWriter {
public:
    // Creates the temporary file. Throws std::invalid_argument for bad sizes or options and
    // std::runtime_error when the file cannot be created.
    PyramidTiffWriter(std::string path, std::int64_t width, std::int64_t height,
                      PyramidSampleType type, PyramidTiffOptions options = {});
    // Without a successful finish(), the temporary file is removed and `path` is left untouched.
    ~PyramidTiffWriter();
    PyramidTiffWriter(const PyramidTiffWriter&) = delete;
    PyramidTiffWriter& operator=(const PyramidTiffWriter&) = delete;

    const std::string& path() const;
    const std::vector<PyramidLevelSize>& levels() const;
    int tileSize() const;
    std::int64_t rowsWritten() const;  // level-0 rows handed over so far

    // The next rows of level 0, top to bottom: `rows.width` must be the image width, any height
    // (bands of tileSize rows avoid a copy). Throws std::invalid_argument for a wrong width or too
    // many rows, std::runtime_error when writing fails (the writer is then unusable).
    void appendRows(const RasterView& rows);

    // After the last row: writes the reduced levels, closes the file and renames it onto path().
    // Throws std::logic_error when rows are missing, std::runtime_error when writing fails.
    void finish();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Fills the level-0 rectangle (x, y, width, height) into `dst` (rows `stride` bytes apart) in the
// writer's sample type. Called tile by tile, left to right, top to bottom.
using PyramidTileFill = std::function<void(std::int64_t x, std::int64_t y, int width, int height,
                                           void* dst, std::size_t stride)>;

// The whole pyramid from a callback, one band of tiles in memory at a time.
void writePyramidTiff(const std::string& path, std::int64_t width, std::int64_t height,
                      PyramidSampleType type, const PyramidTiffOptions& options,
                      const PyramidTileFill& fill);

// The whole pyramid of an image in memory.
void writePyramidTiff(const std::string& path, const RasterView& image, PyramidSampleType type,
                      const PyramidTiffOptions& options);

}  // namespace lucida
