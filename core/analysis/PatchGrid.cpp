#include "analysis/PatchGrid.h"

#include "tiles/CentreOut.h"
#include "tiles/TileGrid.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <tuple>

namespace lucida {

namespace {

std::string number(double v) {
    std::ostringstream s;
    s << v;
    return s.str();
}

bool positive(const std::optional<double>& v) { return v && std::isfinite(*v) && *v > 0; }

// Level-0 pixels per model-input pixel. µm/px is exact where both sides have it; objective power
// is the scanner's nominal label, so it is only the fallback.
double modelDownsample(const ImageInfo& info, const PatchGridOptions& o) {
    const bool slideMpp = positive(info.mppX), slidePower = positive(info.objectivePower);
    const bool modelMpp = positive(o.micronsPerPixel), modelMag = positive(o.magnification);
    if (modelMpp && slideMpp) return *o.micronsPerPixel / *info.mppX;
    if (modelMag && slidePower) return *info.objectivePower / *o.magnification;
    if (!modelMpp && !modelMag) return 1;
    const std::string wants = modelMpp ? number(*o.micronsPerPixel) + " µm per pixel"
                                       : number(*o.magnification) + "x magnification";
    throw std::invalid_argument(
        info.path + ": the slide has no resolution (no " +
        (modelMpp ? std::string("µm per pixel") : std::string("objective power")) +
        " in the file), but the model works at " + wants +
        "; use a slide that records its resolution, or a model without a fixed scale");
}

// Patches needed so the last one reaches the edge: 1 + ceil((extent - size) / stride). In double:
// an absurd plan is refused on this count before it is cast.
double countAlong(double extent, double size, double stride) {
    if (extent <= 0) return 0;
    if (extent <= size) return 1;
    // A hair of tolerance, so an exact fit does not add a patch for rounding error.
    return 1 + std::ceil((extent - size) / stride - 1e-9);
}

std::string grouped(double v) {  // 1750329 -> "1,750,329"
    if (!(std::abs(v) < 1e15)) return number(v);
    std::string digits = std::to_string(static_cast<long long>(std::llround(v)));
    for (int i = static_cast<int>(digits.size()) - 3; i > (digits[0] == '-' ? 1 : 0); i -= 3)
        digits.insert(static_cast<std::size_t>(i), ",");
    return digits;
}

// "0.5 µm per pixel (the model) against 661 µm per pixel (the image)".
std::string scales(const ImageInfo& info, const PatchGridOptions& o) {
    auto image = [&](double mpp) {
        return info.displayUnit == LengthUnit::Millimetre ? number(mpp / 1000) + " mm per pixel"
                                                          : number(mpp) + " µm per pixel";
    };
    if (positive(o.micronsPerPixel) && positive(info.mppX))
        return "the model works at " + number(*o.micronsPerPixel) +
               " µm per pixel, the image has " + image(*info.mppX);
    if (positive(o.magnification) && positive(info.objectivePower))
        return "the model works at " + number(*o.magnification) + "x, the image was scanned at " +
               number(*info.objectivePower) + "x";
    return "the image's own pixels";
}

}  // namespace

PatchGrid planPatchGrid(const ImageInfo& info, const PatchGridOptions& options,
                        const TissueMask* tissue) {
    if (options.inputSize <= 0)
        throw std::invalid_argument("model input size must be positive, not " +
                                    std::to_string(options.inputSize));
    if (!(options.overlap >= 0 && options.overlap <= 0.75))
        throw std::invalid_argument("patch overlap must be between 0 and 0.75, not " +
                                    number(options.overlap));
    PatchGrid grid;
    if (options.wholeImage) {
        const double w = double(info.width()), h = double(info.height());
        grid.wholeImage = true;
        grid.columns = grid.rows = 1;
        grid.patchSize = grid.stride = std::max(w, h);
        grid.downsample = std::min(w, h) / options.inputSize;
        grid.patches.push_back({0, 0, 0, 0, w, h, 0});
        return grid;
    }
    grid.downsample = modelDownsample(info, options);
    const double ds = grid.downsample, longer = double(std::max(info.width(), info.height()));
    if (!(std::isfinite(ds) && ds >= kMinPlanDownsample))
        throw std::invalid_argument(info.path + ": cannot plan patches: " + scales(info, options) +
                                    ", so the image would be magnified " + number(1 / ds) +
                                    " times (at most " + number(1 / kMinPlanDownsample) +
                                    " makes sense); check the scales (µm against mm?)");
    if (!(longer / ds >= kMinPlanModelPixels))
        throw std::invalid_argument(info.path + ": cannot plan patches: " + scales(info, options) +
                                    ", so the whole image would be " + number(longer / ds) +
                                    " model pixels across (at least " +
                                    number(kMinPlanModelPixels) + " make sense); check the scales");
    grid.patchSize = options.inputSize * grid.downsample;
    grid.stride = grid.patchSize * (1 - options.overlap);
    const double columns = countAlong(double(info.width()), grid.patchSize, grid.stride),
                 rows = countAlong(double(info.height()), grid.patchSize, grid.stride);
    if (!(columns * rows <= kMaxPlanPatches) ||
        !(columns * rows <= double(info.width()) * double(info.height())))
        throw std::invalid_argument(
            info.path + ": cannot plan " + grouped(columns * rows) + " patches (" +
            grouped(columns) + " x " + grouped(rows) + " of " + number(grid.patchSize) +
            " image pixels; at most " + grouped(kMaxPlanPatches) +
            ", and no more than the image's pixels): " + scales(info, options) +
            "; check the scales");
    grid.columns = static_cast<int>(columns);
    grid.rows = static_cast<int>(rows);
    // The same level for every patch: the viewer and the heatmap then read one pyramid level.
    const int level =
        info.levels.empty() ? 0 : bestLevelForDownsample(info.levels, grid.downsample);
    for (int r = 0; r < grid.rows; ++r)
        for (int c = 0; c < grid.columns; ++c) {
            Patch p{c, r, c * grid.stride, r * grid.stride, grid.patchSize, grid.patchSize, level};
            if (tissue && tissue->coverage(p.x, p.y, p.width, p.height) < options.minTissue)
                continue;
            grid.patches.push_back(p);
        }
    return grid;
}

std::string unmappableScale(const ImageInfo& info, const PatchGridOptions& o) {
    if (info.displayUnit != LengthUnit::Millimetre) return {};
    if (!positive(o.micronsPerPixel) && !positive(o.magnification)) return {};
    const std::string image = positive(info.mppX) ? "pixels of " + number(*info.mppX / 1000) + " mm"
                                                  : "pixels in mm (no spacing recorded)";
    const std::string model = positive(o.micronsPerPixel)
                                  ? number(*o.micronsPerPixel) + " µm per pixel"
                                  : number(*o.magnification) + "x magnification";
    return info.path + ": cannot map the scales: the image is a radiology image (" + image +
           ") and the model was made for a microscope (" + model + ")";
}

std::vector<Patch> patchesInView(const PatchGrid& grid, double x, double y, double w, double h) {
    std::vector<Patch> out;
    if (!(w > 0 && h > 0) || grid.patches.empty() || !(grid.stride > 0)) return out;
    // Rows and columns whose square can overlap the view: origin k*stride in (start - size, end),
    // one wider each way against rounding; the exact test below decides.
    auto range = [&](double start, double extent, int count) {
        const double first = std::floor((start - grid.patchSize) / grid.stride);
        const double last = std::ceil((start + extent) / grid.stride);
        return std::pair{int(std::clamp(first, 0.0, double(count))),
                         int(std::clamp(last, -1.0, double(count - 1)))};
    };
    const auto [c0, c1] = range(x, w, grid.columns);
    const auto [r0, r1] = range(y, h, grid.rows);
    auto key = [](const Patch& p) { return std::tuple{p.row, p.column}; };
    for (int r = r0; r <= r1; ++r) {
        // grid.patches is row-major: jump to (r, c0) and read on to (r, c1).
        auto it = std::lower_bound(
            grid.patches.begin(), grid.patches.end(), std::tuple{r, c0},
            [&](const Patch& p, const std::tuple<int, int>& k) { return key(p) < k; });
        for (; it != grid.patches.end() && it->row == r && it->column <= c1; ++it) {
            if (it->intersects(x, y, w, h)) out.push_back(*it);
        }
    }
    // `out` is in grid order, which breaks ties (by row, then column).
    sortCentreOut(out.begin(), out.end(), PointF{x + w / 2, y + h / 2}, patchCentre);
    return out;
}

}  // namespace lucida
