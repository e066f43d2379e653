#pragma once

#include "analysis/TissueMask.h"
#include "image/ImageSource.h"
#include "tiles/ViewGeometry.h"

#include <optional>
#include <string>
#include <vector>

namespace lucida {

// One patch the model sees: a rectangle of level-0 pixels read from `level` and resized to the
// model input (a square on a sliding grid, the whole image in whole-image mode); (column, row)
// index it in the grid.
struct Patch {
    int column = 0, row = 0;
    double x = 0, y = 0;           // level-0 top-left
    double width = 0, height = 0;  // level-0 extent
    int level = 0;  // level to read: the coarsest with downsample <= needed (never upsampled)

    // Whether the patch overlaps the level-0 rectangle (x, y, w, h).
    bool intersects(double rx, double ry, double rw, double rh) const {
        return x < rx + rw && x + width > rx && y < ry + rh && y + height > ry;
    }
};

// A patch's level-0 centre: what centre-out orders go by.
inline PointF patchCentre(const Patch& p) { return {p.x + p.width / 2, p.y + p.height / 2}; }

// How a slide is cut into model inputs.
struct PatchGridOptions {
    int inputSize = 224;  // model input side, pixels
    // The model's intended scale: µm per pixel (preferred) or objective magnification; neither: the
    // image's own pixels (level 0).
    std::optional<double> micronsPerPixel;
    std::optional<double> magnification;
    double overlap = 0;       // 0 .. 0.75: stride = size * (1 - overlap)
    double minTissue = 0.25;  // patches with less tissue are skipped (when a mask is given)
    // One patch: the whole image resized to the input, as a photo or MRI slice model was trained
    // (scale, overlap and tissue do not apply).
    bool wholeImage = false;
};

struct PatchGrid {
    bool wholeImage = false;
    double patchSize = 0;  // level-0 pixels per patch side (whole image: its longer side)
    double stride = 0;     // level-0 pixels between patch origins
    int columns = 0, rows = 0;
    double downsample = 1;       // level-0 pixels per model-input pixel
    std::vector<Patch> patches;  // row-major, tissue patches only when a mask was given
};

// Plausibility limits of a plan (sliding patches).
// The model's pixel may be at most 16 times finer than the image's (more is magnifying the image
// beyond what it holds: µm against mm, a wrong sidecar) …
constexpr double kMinPlanDownsample = 1.0 / 16;
// … the image must be at least 8 model pixels across at the model's scale …
constexpr double kMinPlanModelPixels = 8;
// … and the grid at most 10 million patches.
constexpr double kMaxPlanPatches = 1e7;

// Plans the patches covering the slide at the model's scale. Throws std::invalid_argument when
// the model asks for µm/px but the slide has none (the message says so and what to do), and when
// the plan is absurd (limits above): the message gives the scales, the factor and the patch count.
// Quick: refused before anything is allocated.
PatchGrid planPatchGrid(const ImageInfo& info, const PatchGridOptions& options,
                        const TissueMask* tissue = nullptr);

// Why the model's scale cannot be mapped onto the image ("" when it can): a radiology image (DICOM
// pixel spacing, in mm) and a model made for a microscope (µm per pixel or magnification).
std::string unmappableScale(const ImageInfo& info, const PatchGridOptions& options);

// Patches whose square intersects the level-0 rectangle `view`, ordered from the view's centre
// outwards (the viewer asks for what is on screen first).
std::vector<Patch> patchesInView(const PatchGrid& grid, double x, double y, double w, double h);

}  // namespace lucida
