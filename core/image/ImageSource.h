#pragma once

#include "image/PixelBuffer.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace lucida {

// A rectangle in the pixel grid of one level.
struct Rect {
    std::int64_t x = 0;
    std::int64_t y = 0;
    std::int64_t width = 0;
    std::int64_t height = 0;
    bool operator==(const Rect&) const = default;
};

struct Level {
    std::int64_t width = 0;
    std::int64_t height = 0;
    double downsample = 1.0;  // relative to level 0
};

// Real value of a Gray16 sample: stored * slope + intercept (DICOM's modality LUT; signed samples
// are stored shifted by 32768 and the intercept compensates).
struct GrayMapping {
    double slope = 1.0;
    double intercept = 0.0;
    std::string unit;  // e.g. "HU"; empty when unknown
    double toValue(std::uint16_t stored) const { return stored * slope + intercept; }
};

// A display window in real (mapped) values.
struct Window {
    std::string name;
    double centre = 0.0;
    double width = 1.0;
};

enum class LengthUnit { Micrometre, Millimetre };

struct ImageInfo {
    std::string path;
    std::string format;  // e.g. "aperio (OpenSlide)", "PNG", "DICOM series"
    std::vector<Level> levels;
    PixelFormat pixelFormat = PixelFormat::Rgba8;
    int sliceCount = 1;
    std::optional<double> mppX;  // micrometres per level-0 pixel
    std::optional<double> mppY;
    std::optional<double> objectivePower;
    LengthUnit displayUnit = LengthUnit::Micrometre;
    std::vector<std::pair<std::string, std::string>> properties;  // in the file's order
    std::vector<std::string> associatedImages;                    // label, macro, thumbnail…
    GrayMapping grayMapping;                                      // Gray16 only
    std::vector<Window> windows;  // Gray16 only: from the file first, then computed

    const Level& level(int i) const { return levels.at(static_cast<std::size_t>(i)); }
    std::int64_t width() const { return levels.empty() ? 0 : levels.front().width; }
    std::int64_t height() const { return levels.empty() ? 0 : levels.front().height; }
    std::optional<std::string> property(const std::string& key) const;
};

// One image of any kind: a whole slide, a photo, a DICOM series. Opened by openImage(); the
// subclasses are formats registered in ImageFormats.cpp. All methods are safe to call from several
// threads at once.
class ImageSource {
public:
    virtual ~ImageSource() = default;

    virtual const ImageInfo& info() const = 0;

    // Pixels of `rect` (in that level's pixel grid) of one slice; the part of rect outside the
    // level reads as zeros. Throws ImageError when the file cannot deliver them.
    virtual PixelBuffer readRegion(int level, const Rect& rect, int slice = 0) const = 0;

    // Throws ImageError for an unknown name.
    virtual PixelBuffer readAssociatedImage(const std::string& name) const;

    // Windows for one slice (DICOM frames may carry their own); defaults to info().windows.
    virtual std::vector<Window> windowsForSlice(int slice) const;

    // Unique for the process lifetime, so tiles of two opened files never share a cache key.
    std::uint64_t id() const { return id_; }

protected:
    ImageSource();

private:
    std::uint64_t id_;
};

// Opens `path` (a file, or a folder holding a DICOM series) with the format its content says,
// whatever its extension. Throws ImageError naming the file and the reason.
std::unique_ptr<ImageSource> openImage(const std::string& path);

// The names of the registered formats, for help texts and file dialogs.
std::vector<std::string> imageFormatNames();
std::vector<std::string> imageFileExtensions();

}  // namespace lucida
