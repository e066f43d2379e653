#pragma once

#include "model/FloatTensor.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace lucida {

class Model;
class QuantisedTrunk;

// A rectangle in model-input pixels (the model's scale), relative to a region's origin.
struct DenseRect {
    int x = 0, y = 0, width = 0, height = 0;
};

// The normalised model input [1, 3, h, w] of a rectangle of the region (always inside it).
using DenseReader = std::function<FloatTensor(const DenseRect&)>;

// Whether a model can be run densely: its trunk up to the target layer is convolutional with a
// known receptive field, and what follows the layer is global average pooling + one linear layer
// (checked numerically on the model itself), and the method reduces to a fixed channel weighting.
struct DenseSupport {
    bool supported = false;
    std::string reason;  // why not, in words, when unsupported
    int stride = 0;      // model pixels per feature cell
    int halo = 0;        // model pixels read before a tile's first cell: the receptive field's
                         // reach, rounded up to the stride (ResNet-18 224, small CNN 16)
    int haloAfter = 0;  // model pixels read beyond a tile's last cell (ResNet-18 186, small CNN 15)
};

// Whether dense tiles run the trunk cropped step by step to the cells the remaining steps need
// (the default) or whole over tile and halo: LUCIDA_DENSE_NO_CROP=1 or setDenseTrunkCrop(false)
// (the baseline bench/dense_bench compares; the two are equal to rounding).
bool denseTrunkCrop();
void setDenseTrunkCrop(bool crop);

// Whether a tile that continues a row of tiles, or starts right under tiles run before, reuses
// what they computed (DenseCarry; the default) or reads and computes its whole halo again:
// LUCIDA_DENSE_NO_STREAM=1 or setDenseStreaming(false) (the baseline bench/dense_bench compares;
// equal to rounding).
bool denseStreaming();
void setDenseStreaming(bool stream);

// Methods that reduce, for a global-average-pool + linear head, to a fixed weighting of the
// feature channels (the gradient of the score is the head's weights / map area everywhere).
bool isDenseMethod(const std::string& method);

DenseSupport denseSupport(const Model& model, const std::string& layer, const std::string& method);

// Per step of the trunk up to `layer` (ModelBackend::trunkGeometry), the reach of the steps after
// it in model pixels: a final cell at q needs that step's outputs in [q − before, q + after].
// Empty where the geometry is not known.
struct DenseStepReach {
    int before = 0, after = 0;
};
std::vector<DenseStepReach> denseStepReach(const Model& model, const std::string& layer);

// What tiles' trunks leave for the tiles after them: each step's outputs within the reach of the
// cells that follow — the last tile's last columns for the next tile of its row (the same rows,
// its first cell right after the last one's), and every tile's last rows for the tiles of the
// band below (those that start right under tiles whose columns cover theirs). Such a tile runs
// each step only over its new cells and that step's own reach, instead of the whole
// receptive-field halo from the pixels on (streaming: the halo between neighbours is computed
// once). The last rows kept are bounded (DenseCam::setKeepBytes; tiles under the rest read their
// halo). Holds
// tensors of one DenseCam; opaque.
class DenseCarry {
public:
    DenseCarry();
    ~DenseCarry();
    DenseCarry(const DenseCarry&) = delete;
    DenseCarry& operator=(const DenseCarry&) = delete;
    void clear();
    // Drops the last rows no tile from (x, y) on in reading order needs: of tiles that end above
    // model row `y`, and of those that end at it left of column `x` (call it with each tile's
    // first column and its band's first row).
    void keepFrom(int x, int y);
    std::size_t keptBytes() const;  // of the last rows kept
    struct State;                   // defined in DenseCam.cpp
    struct Bottoms;

private:
    friend class DenseCam;
    std::unique_ptr<State> state_;
    std::unique_ptr<Bottoms> bottoms_;
};

// Dense mode (OverFeat's sliding window as a convolution): the trunk runs over large tiles of a
// region with halos of the receptive field, so that the stitched feature map equals the one a
// single pass over the whole region gives; CAM maps and the logits of any window follow from it
// without running patches.
class DenseCam {
public:
    // `windowCells`: the training input's side in feature cells (the area Grad-CAM's weights are
    // divided by). Throws std::invalid_argument with denseSupport's reason.
    DenseCam(const Model& model, const std::string& layer, const std::string& method,
             int explainedClass);
    ~DenseCam();
    DenseCam(const DenseCam&) = delete;
    DenseCam& operator=(const DenseCam&) = delete;

    const DenseSupport& support() const;
    // From now on the trunk runs in int8 (a calibrated QuantisedTrunk of this model and layer,
    // over whole tiles); null returns to fp32.
    void setInt8Trunk(std::shared_ptr<const QuantisedTrunk> trunk);
    // The most bytes of tiles' last rows a DenseCarry keeps for the bands below (default: an
    // eighth of the free memory where the trunk runs, 256 MiB – 2 GiB).
    void setKeepBytes(std::size_t bytes);
    int stride() const { return support().stride; }
    int halo() const { return support().halo; }
    int logitCount() const;   // K of the head
    int windowCells() const;  // the model input's side in cells
    const std::vector<float>& bias() const;

    // The features [1, C, h, w] of the feature cells of `inner` (origin a multiple of the stride):
    // the trunk run once over `inner` grown by the halo and clipped to `region`.
    FloatTensor features(const DenseReader& read, const DenseRect& region,
                         const DenseRect& inner) const;
    // The same for a whole input [1, 3, H, W] in one pass (the reference tiles must equal).
    FloatTensor features(const FloatTensor& input) const;
    // Maps [K + 1, h, w] from features: K logit densities W·F (a window's logits are their mean
    // over it plus the bias) and the method's map before its ReLU (per patch as the patch method
    // computes it for a window of windowCells²).
    FloatTensor maps(const FloatTensor& features) const;
    FloatTensor maps(const DenseReader& read, const DenseRect& region,
                     const DenseRect& inner) const {
        const DenseRect r = readRect(region, inner);
        return tileMaps(read(r), r, inner);
    }
    // What a tile reads: `inner` (origin a multiple of the stride) grown by the halos, clipped to
    // `region`. Reading is split from computing so that the next tile can be read (on another
    // thread) while the trunk runs over this one.
    DenseRect readRect(const DenseRect& region, const DenseRect& inner) const;
    // What `inner` reads when it follows `previous` (the tile run just before it) and `above`
    // (tiles run before it whose last rows are kept): from the first step's reach before its new
    // cells only — after the left tile's columns when it continues previous's row, below the
    // rows above when tiles of `above` end right above it and cover its columns (DenseCarry) —
    // else from its whole halo as readRect(region, inner).
    DenseRect readRect(const DenseRect& region, const DenseRect& inner, const DenseRect* previous,
                       const std::vector<DenseRect>* above = nullptr) const;
    // The same with `above` what `carry` keeps, and `previous` (running now) as keeping its own.
    DenseRect readRect(const DenseRect& region, const DenseRect& inner, const DenseRect* previous,
                       const DenseCarry& carry) const;
    // Whether `read` streams (starts after inner's whole halo) and `carry` holds what it needs,
    // so that `inner` can run from its pixels; false for a whole halo's read.
    bool continues(const DenseCarry& carry, const DenseRect& read, const DenseRect& inner) const;
    // The maps of `inner`'s cells from `input`, the pixels of `read` = readRect(region, inner).
    // With an int8 trunk, `saturated` (when given) gets QuantisedTrunk::run's share of values at
    // the ends of their calibrated range (0 in fp32).
    FloatTensor tileMaps(const FloatTensor& input, const DenseRect& read, const DenseRect& inner,
                         double* saturated = nullptr) const;
    // The same streamed from `carry` when continues(carry, read, inner), else over the whole
    // halo (`read` = readRect(region, inner); any other read throws std::logic_error); `carry`
    // then holds this tile's outputs for the tiles after it. `stepPixels` (when given) gets, per
    // trunk step, the model pixels its outputs cover as computed (cells × the step's pixels per
    // cell, before the crop): what the plan costs step by step, against the receptive-field bound
    // (dense_bench).
    FloatTensor tileMaps(const FloatTensor& input, const DenseRect& read, const DenseRect& inner,
                         double* saturated, DenseCarry& carry,
                         std::vector<double>* stepPixels = nullptr) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// The side of the largest square tile (model pixels read, a multiple of `stride`, at most
// `maxSide`) whose trunk fits the free memory, by `--batch auto`'s rule (batchSizeFor: half the
// free memory, less the fixed cost) counted in stride × stride blocks of `perPixelBytes` each:
// side = stride · ⌊√blocks⌋. Dense mode runs one tile at a time: the tile is its batch.
int denseTileSideFor(std::int64_t freeBytes, double perPixelBytes, std::int64_t fixedBytes,
                     int stride, int maxSide);
// For a model on CUDA: denseTileSideFor with the trunk's peak memory measured on two tile sides
// and the device's free memory; 0 on the CPU or when memory cannot be asked (the CPU's sides,
// tuned for cache and page faults in DenseAnalysis, apply).
int denseTileSideForDevice(const DenseCam& dense, const Model& model, int maxSide);

// The maps of a whole region computed tile by tile (`tile` model pixels, rounded up to the
// stride) and stitched: [K + 1, cells high, cells wide]. `streamed`: row by row, left to right,
// through one DenseCarry (each tile streams from the one before it and the row above).
FloatTensor denseMapsInTiles(const DenseCam& dense, const DenseReader& read, int width, int height,
                             int tile, bool streamed = false);

// A window's logits from maps: mean of each logit density over cells [cx, cx + w) × [cy, cy + h),
// plus the bias.
std::vector<float> denseWindowLogits(const DenseCam& dense, const FloatTensor& maps, int cx, int cy,
                                     int cells);

}  // namespace lucida
