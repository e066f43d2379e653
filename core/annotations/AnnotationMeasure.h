#pragma once
// Lengths and areas in physical units from the image's pixel size: µm for slides, mm for DICOM
// (pixel spacing), pixels when the image says nothing — and the text says which.

#include "annotations/Annotation.h"

#include <optional>
#include <string>

namespace lucida {

struct PixelSize {
    double x = 0, y = 0;  // physical size of one level-0 pixel; 0: unknown
    enum class Unit { Micrometre, Millimetre } unit = Unit::Micrometre;
    bool known() const { return x > 0 && y > 0; }
};

struct Measurement {
    double area = 0;    // in unit² (pixels² when the pixel size is unknown)
    double length = 0;  // in unit (lines; a polygon's perimeter for areas)
    std::string unit;   // "µm", "mm" or "px"
    std::string text;   // "1.23 mm²", "512 µm", "3 points"
};

Measurement measure(const Geometry& g, const PixelSize& pixel);

// "12.3 µm", "1.02 mm" for a length given in `pixel`'s unit (switching µm → mm above 1000 µm).
std::string lengthText(double length, const PixelSize& pixel);
std::string areaText(double area, const PixelSize& pixel);

}  // namespace lucida
