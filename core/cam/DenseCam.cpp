// Dense mode: the trunk over large tiles with receptive-field halos, CAM maps and window logits
// from the stitched feature map (see DenseCam.h).
#include "cam/DenseCam.h"

#include "cam/Batching.h"
#include "cam/DenseGeometry.h"
#include "model/Model.h"
#include "model/QuantisedTrunk.h"

#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <optional>
#include <stdexcept>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace lucida {
namespace {

using namespace dense;
using Field = ReceptiveField;

std::atomic<bool>& cropFlag() {
    static std::atomic<bool> flag{[] {
        const char* value = std::getenv("LUCIDA_DENSE_NO_CROP");
        return !(value && *value && std::string(value) != "0");
    }()};
    return flag;
}

at::Tensor toTensor(const FloatTensor& t) {
    return torch::from_blob(const_cast<float*>(t.data.data()), t.shape, torch::kFloat32).clone();
}

FloatTensor toHost(const at::Tensor& t) {
    const at::Tensor c = t.detach().to(torch::kCPU).to(torch::kFloat32).contiguous();
    FloatTensor out(c.sizes().vec());
    std::memcpy(out.data.data(), c.data_ptr<float>(), out.data.size() * sizeof(float));
    return out;
}

// A tile's activations are tens to hundreds of MiB; glibc serves blocks above 32 MiB with fresh
// mmaps, so every layer of every tile page-faulted its memory in again (a quarter of dense mode's
// time here, and 2.7× the run time on the small CNN's 512-px tiles). Keep up to 256 MiB of freed
// heap for reuse instead — bounded, process-wide, set once when dense mode is first used.
void keepTileMemory() {
#if defined(__GLIBC__)
    static std::once_flag once;
    std::call_once(once, [] {
        constexpr int kKeep = 256 << 20;
        mallopt(M_MMAP_THRESHOLD, kKeep);
        mallopt(M_TRIM_THRESHOLD, kKeep);
    });
#endif
}

// How much of tiles' last rows may be kept for the band below: an eighth of the memory free where
// the trunk runs (the machine's available memory, or the device's), between 256 MiB and 2 GiB
// (512 MiB when it cannot be asked). ResNet-18 keeps ~340 MiB at most on an 8k-px-wide section;
// tiles under those not kept read their halo.
std::size_t keepBudget(const std::string& device) {
    constexpr std::int64_t kMin = std::int64_t{256} << 20, kMax = std::int64_t{2} << 30;
    const std::int64_t memory = freeMemoryBytes(device).value_or(std::int64_t{4} << 30);
    return static_cast<std::size_t>(std::clamp(memory / 8, kMin, kMax));
}
}  // namespace

namespace {
std::atomic<bool>& streamFlag() {
    static std::atomic<bool> flag{[] {
        const char* value = std::getenv("LUCIDA_DENSE_NO_STREAM");
        return !(value && *value && std::string(value) != "0");
    }()};
    return flag;
}
}  // namespace

bool denseStreaming() { return streamFlag().load(std::memory_order_relaxed); }
void setDenseStreaming(bool stream) { streamFlag().store(stream); }

bool denseTrunkCrop() { return cropFlag().load(std::memory_order_relaxed); }
void setDenseTrunkCrop(bool crop) { cropFlag().store(crop); }

std::vector<DenseStepReach> denseStepReach(const Model& model, const std::string& layer) {
    const Field f = receptiveFieldOf(model.backend().trunkGeometry(layer));
    std::vector<DenseStepReach> out;
    for (std::size_t k = 0; k < f.restBefore.size(); ++k)
        out.push_back({f.restBefore[k], f.restAfter[k]});
    return out;
}

bool isDenseMethod(const std::string& method) {
    return method == "cam" || method == "gradcam" || method == "hirescam" || method == "layercam";
}

DenseSupport denseSupport(const Model& model, const std::string& layer, const std::string& method) {
    DenseSupport s;
    if (!isDenseMethod(method)) {
        s.reason = method + " needs per-patch gradients or masked forwards";
        return s;
    }
    Field field;
    try {
        field = receptiveFieldOf(model.backend().trunkGeometry(layer));
    } catch (const std::domain_error& e) {  // GraphGeometryError: a TorchScript op it cannot follow
        s.reason = std::string("dense mode cannot follow the model's graph: ") + e.what();
        return s;
    } catch (const std::exception& e) {
        s.reason = std::string("the target layer cannot be run: ") + e.what();
        return s;
    }
    if (!field.known()) {
        s.reason = "the receptive field of a " + model.spec().architecture +
                   " model is not known (dense mode knows torchvision's ResNets, the small CNN "
                   "and TorchScript graphs of convolutions)";
        return s;
    }
    ModelBackend& backend = model.backend();
    const at::Tensor weights = backend.linearHeadWeights();
    if (!weights.defined()) {
        s.reason = "the model does not end in global average pooling + a linear layer";
        return s;
    }
    const auto options = torch::TensorOptions().device(model.device());
    const int h = model.spec().inputHeight, w = model.spec().inputWidth;
    const at::Tensor probe = torch::zeros({1, 3, h, w}, options);
    at::Tensor activation;
    try {
        activation = backend.head(probe, layer);
    } catch (const std::exception& e) {
        s.reason = std::string("the target layer cannot be run: ") + e.what();
        return s;
    }
    if (activation.dim() != 4 || activation.size(1) != weights.size(1)) {
        s.reason = "the target layer '" + layer + "' does not feed the pooling before the head";
        return s;
    }
    // What follows the layer must be W · mean(A) + b: checked on random activations of both
    // signs (a ReLU before the pooling, as in a DenseNet, passes non-negative ones unchanged).
    torch::NoGradGuard noGrad;
    const at::Tensor bias = backend.tail(probe, torch::zeros_like(activation), layer).detach();
    const at::Tensor a = torch::randn_like(activation) * 2;
    const at::Tensor expected = torch::matmul(a.mean({2, 3}), weights.to(a.dtype()).t()) + bias;
    const at::Tensor got = backend.tail(probe, a, layer).detach();
    const double tolerance = 1e-4 * (1 + expected.abs().max().item<double>());
    if (!got.sizes().equals(expected.sizes()) ||
        (got - expected).abs().max().item<double>() > tolerance) {
        s.reason = "what follows the target layer '" + layer +
                   "' is more than global average pooling + a linear layer";
        return s;
    }
    if (h % field.stride != 0 || w % field.stride != 0 || activation.size(2) * field.stride != h) {
        s.reason = "the model input is not a whole number of feature cells";
        return s;
    }
    s.supported = true;
    s.stride = field.stride;
    // Cell i sees input pixels [i·stride − before, i·stride + after]: a tile needs that many
    // pixels before its first cell, rounded up to the stride so that tiles keep the region's grid,
    // and `after` − (stride − 1) beyond its last cell's box (ResNet-18: 217 → 224 and 186 of a
    // 435-px field; the small CNN: 15 → 16 and 15). Any pixel less changes edge cells.
    s.halo = roundUp(field.before, field.stride);
    s.haloAfter = std::max(0, field.after - (field.stride - 1));
    return s;
}

struct DenseCam::Impl {
    const Model* model = nullptr;
    std::string layer;
    DenseSupport support;
    Field field;         // the trunk's, per step
    at::Tensor weights;  // [K, C]
    at::Tensor method;   // [C]: the method's channel weights
    std::vector<float> bias;
    int windowCells = 0;
    std::shared_ptr<const QuantisedTrunk> int8;  // set: the trunk in int8
    std::uint64_t generation = 0;                // changes with the trunk (carries go stale)
    std::size_t keepBytes = 0;                   // of tiles' last rows (DenseCarry), at most
};

DenseCam::DenseCam(const Model& model, const std::string& layer, const std::string& method,
                   int explainedClass)
    : impl_(std::make_unique<Impl>()) {
    Impl& m = *impl_;
    m.model = &model;
    m.layer = layer;
    m.support = denseSupport(model, layer, method);
    if (!m.support.supported) throw std::invalid_argument("dense mode: " + m.support.reason);
    keepTileMemory();
    m.keepBytes = keepBudget(model.device());
    m.field = receptiveFieldOf(model.backend().trunkGeometry(layer));
    torch::NoGradGuard noGrad;
    m.weights = model.backend().linearHeadWeights().detach().to(torch::kFloat32);
    const int h = model.spec().inputHeight, w = model.spec().inputWidth;
    const auto options = torch::TensorOptions().device(model.device());
    const at::Tensor probe = torch::zeros({1, 3, h, w}, options);
    const at::Tensor activation = model.backend().head(probe, layer);
    const at::Tensor b =
        model.backend().tail(probe, torch::zeros_like(activation), layer).detach().to(torch::kCPU);
    m.bias.assign(b.data_ptr<float>(), b.data_ptr<float>() + b.numel());
    m.windowCells = h / m.support.stride;
    // The explained class's row; a one-logit (sigmoid) model explains its negative class with -W.
    const bool sigmoid = m.weights.size(0) == 1;
    const std::int64_t row = sigmoid ? 0 : explainedClass;
    const float sign = sigmoid && explainedClass == 0 ? -1.0f : 1.0f;
    const at::Tensor v = m.weights[row] * sign;
    const double area = static_cast<double>(activation.size(2) * activation.size(3));
    if (method == "cam")
        m.method = v;
    else if (method == "layercam")
        m.method = torch::relu(v) / area;
    else  // gradcam, hirescam: the score's gradient is v / area in every cell
        m.method = v / area;
}

DenseCam::~DenseCam() = default;

const DenseSupport& DenseCam::support() const { return impl_->support; }
void DenseCam::setInt8Trunk(std::shared_ptr<const QuantisedTrunk> trunk) {
    impl_->int8 = std::move(trunk);
    ++impl_->generation;
}
void DenseCam::setKeepBytes(std::size_t bytes) { impl_->keepBytes = bytes; }
int DenseCam::logitCount() const { return static_cast<int>(impl_->weights.size(0)); }
int DenseCam::windowCells() const { return impl_->windowCells; }
const std::vector<float>& DenseCam::bias() const { return impl_->bias; }

namespace {
// The trunk over a whole input without autograd (InferenceMode: no version counters or graph),
// the input in channels-last order: oneDNN's convolutions run on NHWC without reordering the
// large activations of a tile (measured 1.5–2.5× over NCHW for the small CNN and ResNet-18 here).
at::Tensor trunk(const Model& model, const std::string& layer, const FloatTensor& input) {
    c10::InferenceMode inference;
    const at::Tensor x =
        torch::from_blob(const_cast<float*>(input.data.data()), input.shape, torch::kFloat32)
            .to(model.device())
            .contiguous(at::MemoryFormat::ChannelsLast);
    return model.backend().head(x, layer);
}

// Maps [K + 1, h, w] of features [C, h, w]: W·F per logit and the method's weighting.
at::Tensor mapsOf(const at::Tensor& features, const at::Tensor& weights, const at::Tensor& method) {
    c10::InferenceMode inference;
    const auto c = features.size(0), h = features.size(1), w = features.size(2);
    const at::Tensor flat = features.reshape({c, h * w});
    const at::Tensor logits = torch::matmul(weights.to(features.device()), flat);
    const at::Tensor m = torch::matmul(method.to(features.device()).unsqueeze(0), flat);
    return torch::cat({logits, m}, 0).reshape({-1, h, w});
}
}  // namespace

FloatTensor DenseCam::features(const FloatTensor& input) const {
    return toHost(trunk(*impl_->model, impl_->layer, input));
}

DenseRect DenseCam::readRect(const DenseRect& region, const DenseRect& inner) const {
    const int s = stride(), halo = this->halo(), after = support().haloAfter;
    if (inner.x % s || inner.y % s) throw std::invalid_argument("dense tile off the feature grid");
    const int x0 = std::max(0, inner.x - halo), y0 = std::max(0, inner.y - halo);
    const int x1 = std::min(region.width, inner.x + roundUp(inner.width, s) + after);
    const int y1 = std::min(region.height, inner.y + roundUp(inner.height, s) + after);
    return {x0, y0, x1 - x0, y1 - y0};
}

namespace {
// The inner cells of a tile's features [1, C, h, w]: from the tile's own origin, as many as the
// region has there.
at::Tensor innerCells(const at::Tensor& all, const DenseRect& read, const DenseRect& inner, int s) {
    const std::int64_t cx = (inner.x - read.x) / s, cy = (inner.y - read.y) / s;
    const std::int64_t cw = std::min<std::int64_t>((inner.width + s - 1) / s, all.size(3) - cx);
    const std::int64_t ch = std::min<std::int64_t>((inner.height + s - 1) / s, all.size(2) - cy);
    return all.slice(2, cy, cy + ch).slice(3, cx, cx + cw);
}
}  // namespace

struct DenseCarry::State {
    const void* owner = nullptr;    // the DenseCam
    std::uint64_t generation = 0;   // of its trunk when the tails were made
    DenseRect read, inner;          // the tile they come from
    std::vector<at::Tensor> tails;  // per step: its output from column position tailX on
    std::vector<int> tailX, lastX;  // model pixels of the tails' first and last column
    std::vector<int> tailY;         // model pixels of the tails' first row
};

// A tile's last rows at every step, for the tiles of the band below (streaming down): the kept
// output from the first row the cells below can reach up to, over all its kept columns.
struct DenseBottom {
    DenseRect inner;
    std::vector<at::Tensor> rows;               // per step
    std::vector<int> rowY, lastY, colX, lastX;  // model pixels: first and last row and column
    std::size_t bytes = 0;
};

struct DenseCarry::Bottoms {
    const void* owner = nullptr;
    std::uint64_t generation = 0;
    std::vector<std::shared_ptr<const DenseBottom>> tiles;
    std::size_t bytes = 0;
    bool full = false;  // a tile's bottom was not kept: it would have passed the budget
};

DenseCarry::DenseCarry() = default;
DenseCarry::~DenseCarry() = default;
void DenseCarry::clear() {
    state_.reset();
    bottoms_.reset();
}

void DenseCarry::keepFrom(int x, int y) {
    if (!bottoms_) return;
    auto& tiles = bottoms_->tiles;
    // (a tile under the band above streams from tiles whose cells cover its own: none left of x)
    const auto gone = [x, y](const std::shared_ptr<const DenseBottom>& b) {
        const int bottom = b->inner.y + b->inner.height;
        return bottom < y || (bottom == y && b->inner.x + b->inner.width <= x);
    };
    for (const auto& b : tiles)
        if (gone(b)) bottoms_->bytes -= b->bytes;
    const bool freed = std::any_of(tiles.begin(), tiles.end(), gone);
    tiles.erase(std::remove_if(tiles.begin(), tiles.end(), gone), tiles.end());
    if (freed) bottoms_->full = false;
}

std::size_t DenseCarry::keptBytes() const { return bottoms_ ? bottoms_->bytes : 0; }

namespace {

// Keeps of step `step`'s kept output `kept` (its first column at `x0`, first row at `y0`, `j`
// pixels per column) what the next tile of the row can need: the columns from its first cell
// less the reach of the steps after this one (as tileCrop cuts), copied so that the step's output
// can go.
void keepTail(DenseCarry::State* next, const Field& field, std::size_t step, const at::Tensor& kept,
              int x0, int y0, int nextX) {
    if (!next) return;
    const int j = field.jump.at(step), s = field.stride;
    const int from = std::max(x0, nextX - roundUp(field.restBefore.at(step), s));
    const std::int64_t first = std::min<std::int64_t>(kept.size(3), (from - x0) / j);
    next->tails.push_back(kept.slice(3, first, kept.size(3)).clone());
    next->tailX.push_back(from);
    next->tailY.push_back(y0);
    next->lastX.push_back(x0 + static_cast<int>(kept.size(3) - 1) * j);
}

// The same for the band below: the rows from the first the cells below (from `nextY` on) reach.
void keepBottom(DenseBottom* bottom, const Field& field, std::size_t step, const at::Tensor& kept,
                int x0, int y0, int nextY) {
    if (!bottom) return;
    const int j = field.jump.at(step), s = field.stride;
    const int from = std::max(y0, nextY - roundUp(field.restBefore.at(step), s));
    const std::int64_t first = std::min<std::int64_t>(kept.size(2), (from - y0) / j);
    at::Tensor rows = kept.slice(2, first, kept.size(2)).clone();
    bottom->bytes += rows.numel() * rows.element_size();
    bottom->rows.push_back(std::move(rows));
    bottom->rowY.push_back(from);
    bottom->lastY.push_back(y0 + static_cast<int>(kept.size(2) - 1) * j);
    bottom->colX.push_back(x0);
    bottom->lastX.push_back(x0 + static_cast<int>(kept.size(3) - 1) * j);
}

// Two pieces of a step's output side by side along `dim` (3: the carried columns, then the new
// ones; 2: rows). Quantised pieces (one calibration: the same scale and zero point) are joined on
// their bytes: LibTorch's quantised cat dequantises, joins and quantises again, which made
// streamed int8 runs slower than whole halos (ResNet-18 section slide 9.1 against 5.3 s).
at::Tensor joinAlong(const at::Tensor& first, const at::Tensor& second, int dim) {
    if (first.size(dim) == 0) return second;
    if (first.is_quantized() && second.is_quantized() && first.q_scale() == second.q_scale() &&
        first.q_zero_point() == second.q_zero_point()) {
        const at::Tensor bytes = torch::cat({first.int_repr(), second.int_repr()}, dim)
                                     .contiguous(at::MemoryFormat::ChannelsLast);
        return at::_make_per_tensor_quantized_tensor(bytes, first.q_scale(), first.q_zero_point());
    }
    return torch::cat({first, second}, dim).contiguous(at::MemoryFormat::ChannelsLast);
}

at::Tensor joinAll(const std::vector<at::Tensor>& parts, int dim) {
    at::Tensor out = parts.front();
    for (std::size_t i = 1; i < parts.size(); ++i) out = joinAlong(out, parts[i], dim);
    return out;
}

// What a tile's crop takes from tiles run before it: the tile before it in its row (`left`) and
// the bottoms of the tiles right above it (`above`, left to right); either may be absent.
struct StreamFrom {
    const DenseCarry::State* left = nullptr;
    std::vector<std::shared_ptr<const DenseBottom>> above;
    bool any() const { return left || !above.empty(); }
};

// The rows [y0, y1] and columns [x0, x1] of step `step`'s kept output from the bottoms above.
at::Tensor rowsAbove(const StreamFrom& from, std::size_t step, int j, int x0, int x1, int y0,
                     int y1) {
    std::vector<at::Tensor> parts;
    int cursor = x0;
    for (const auto& b : from.above) {
        if (cursor > x1) break;
        const int bx = b->colX.at(step), bLast = b->lastX.at(step), by = b->rowY.at(step);
        if (bLast < cursor) continue;
        if (bx > cursor || by > y0 || b->lastY.at(step) < y1 || (cursor - bx) % j || (y0 - by) % j)
            throw std::logic_error("dense streaming: the rows above do not cover a tile");
        const int end = std::min(x1, bLast);
        parts.push_back(b->rows.at(step)
                            .slice(3, (cursor - bx) / j, (end - bx) / j + 1)
                            .slice(2, (y0 - by) / j, (y1 - by) / j + 1));
        cursor = end + j;
    }
    if (cursor <= x1) throw std::logic_error("dense streaming: the rows above end early");
    return joinAll(parts, 3);
}

// Cuts each step's output of the trunk over a tile's input (the pixels of `read`) to the cells the
// remaining steps need for `inner`'s cells: at most their reach before (Σ padding · jump, rounded
// up to the final stride so that the crop keeps the region's grid) and after the first and last
// inner cell. Every kept cell depends only on kept cells of the step before (or on the region's
// own border), so the zero padding at a crop never reaches an inner cell: exact by construction.
// `origin` follows the current output's first cell (model pixels; starts at read's origin). One
// crop for the fp32 trunk (headCropped) and the int8 one (QuantisedTrunk::run).
// `next` and `bottom` (when given) get each step's tail for the next tile of the row (keepTail)
// and its last rows for the band below (keepBottom).
StepCrop tileCrop(const Field& field, const DenseRect& inner, DenseRect& origin,
                  DenseCarry::State* next = nullptr, DenseBottom* bottom = nullptr) {
    const int s = field.stride;
    const int lastX = inner.x + (roundUp(inner.width, s) / s - 1) * s;
    const int lastY = inner.y + (roundUp(inner.height, s) / s - 1) * s;
    return [&field, inner, s, lastX, lastY, &origin, next, bottom](std::size_t step,
                                                                   const at::Tensor& out) {
        const int j = field.jump.at(step), before = roundUp(field.restBefore.at(step), s);
        const int after = field.restAfter.at(step);
        const int ox = origin.x, oy = origin.y;
        const int x0 = std::max(ox, inner.x - before), y0 = std::max(oy, inner.y - before);
        const std::int64_t cx0 = (x0 - ox) / j, cy0 = (y0 - oy) / j;
        const std::int64_t cx1 = std::min<std::int64_t>(out.size(3), (lastX + after - ox) / j + 1);
        const std::int64_t cy1 = std::min<std::int64_t>(out.size(2), (lastY + after - oy) / j + 1);
        origin.x = x0, origin.y = y0;
        const at::Tensor kept = cx0 == 0 && cy0 == 0 && cx1 == out.size(3) && cy1 == out.size(2)
                                    ? out
                                    : out.slice(3, cx0, cx1).slice(2, cy0, cy1);
        keepTail(next, field, step, kept, x0, y0, lastX + s);
        keepBottom(bottom, field, step, kept, x0, y0, lastY + s);
        return kept;
    };
}

// The crop of a tile that streams from tiles run before it (StreamFrom): each step's output is
// cut to the cells no tile before computed — the columns after the left tile's last, the rows
// after the bottoms' last (the input began just that step's own reach before them) — and the
// cells they kept are put around it: the rows above (over all the tile's columns) on top, the
// left tile's columns beside. What the next step sees equals tileCrop's cut of a whole-halo run
// (exact: every new cell's field lies within what was computed; the extents are tileCrop's). The
// next step's input then starts its own reach before its first new column and row.
StepCrop streamCrop(const Field& field, const DenseRect& inner, DenseRect& origin,
                    const StreamFrom& from, DenseCarry::State& next, DenseBottom* bottom) {
    const int s = field.stride;
    const int lastX = inner.x + (roundUp(inner.width, s) / s - 1) * s;
    const int lastY = inner.y + (roundUp(inner.height, s) / s - 1) * s;
    return [&field, inner, s, lastX, lastY, &origin, &from, &next, bottom](std::size_t step,
                                                                           const at::Tensor& out) {
        const int j = field.jump.at(step), before = roundUp(field.restBefore.at(step), s);
        const int after = field.restAfter.at(step);
        const int ox = origin.x, oy = origin.y;
        const bool above = !from.above.empty();
        // The kept extent's first column and row, as tileCrop's of a whole-halo run.
        const int x0 = from.left ? std::max(from.left->tailX.at(step), inner.x - before)
                                 : std::max(ox, inner.x - before);
        const int y0 = above ? std::max(from.above.front()->rowY.at(step), inner.y - before)
                             : std::max(oy, inner.y - before);
        // The first column and row not computed before.
        const int freshX = from.left ? from.left->lastX.at(step) + j : x0;
        const int freshY = above ? from.above.front()->lastY.at(step) + j : y0;
        if (freshX < ox || (freshX - ox) % j || freshY < oy || (freshY - oy) % j)
            throw std::logic_error("dense streaming: a step's input starts off its grid");
        const std::int64_t cx1 = std::min<std::int64_t>(out.size(3), (lastX + after - ox) / j + 1);
        const std::int64_t cy1 = std::min<std::int64_t>(out.size(2), (lastY + after - oy) / j + 1);
        at::Tensor lower = out.slice(3, (freshX - ox) / j, cx1).slice(2, (freshY - oy) / j, cy1);
        if (from.left) {
            const DenseCarry::State& left = *from.left;
            const at::Tensor& tail = left.tails.at(step);
            const int tailX = left.tailX.at(step), tailY = left.tailY.at(step);
            const at::Tensor carried =
                tail.slice(3, std::min<std::int64_t>(tail.size(3), (x0 - tailX) / j), tail.size(3))
                    .slice(2, std::min<std::int64_t>(tail.size(2), (freshY - tailY) / j),
                           tail.size(2));
            if (carried.size(2) != lower.size(2))
                throw std::logic_error("dense streaming: the carried rows differ from the tile's");
            lower = joinAlong(carried, lower, 3);
        }
        at::Tensor kept = lower;
        if (above && freshY > y0) {
            const int x1 = x0 + static_cast<int>(lower.size(3) - 1) * j;
            kept = joinAlong(rowsAbove(from, step, j, x0, x1, y0, freshY - j), lower, 2);
        }
        keepTail(&next, field, step, kept, x0, y0, lastX + s);
        keepBottom(bottom, field, step, kept, x0, y0, lastY + s);
        if (step + 1 >= field.jump.size()) {
            origin.x = x0, origin.y = y0;
            return kept;
        }
        const int j1 = field.jump[step + 1], reach = stepBefore(field, step + 1);
        const int fromX =
            from.left ? std::max(x0, floorTo(from.left->lastX.at(step + 1) + j1 - reach, j1)) : x0;
        const int fromY =
            above ? std::max(y0, floorTo(from.above.front()->lastY.at(step + 1) + j1 - reach, j1))
                  : y0;
        origin.x = fromX, origin.y = fromY;
        return kept.slice(3, (fromX - x0) / j, kept.size(3))
            .slice(2, (fromY - y0) / j, kept.size(2));
    };
}

// The trunk over a tile's input cropped step by step (tileCrop), in int8 when `int8` is set.
// Returns [1, C, h, w] of the inner cells (as many as the region has).
// `from` (tiles this one streams from, streamCrop), `next` (gets this tile's tails) and `bottom`
// (its last rows) are optional.
at::Tensor croppedTrunk(const Model& model, const std::string& layer, const Field& field,
                        const FloatTensor& input, const DenseRect& read, const DenseRect& inner,
                        const QuantisedTrunk* int8, double* saturated,
                        const StreamFrom* from = nullptr, DenseCarry::State* next = nullptr,
                        DenseBottom* bottom = nullptr, std::vector<double>* stepPixels = nullptr) {
    DenseRect origin{read.x, read.y, 0, 0};
    const StepCrop cut = from && from->any() && next
                             ? streamCrop(field, inner, origin, *from, *next, bottom)
                             : tileCrop(field, inner, origin, next, bottom);
    const StepCrop crop = !stepPixels ? cut : [&](std::size_t step, const at::Tensor& out) {
        if (stepPixels->size() < field.jump.size()) stepPixels->resize(field.jump.size());
        const double j = field.jump.at(step);
        (*stepPixels)[step] += double(out.size(2)) * double(out.size(3)) * j * j;
        return cut(step, out);
    };
    at::Tensor all;
    {
        c10::InferenceMode inference;
        const at::Tensor x =
            torch::from_blob(const_cast<float*>(input.data.data()), input.shape, torch::kFloat32);
        if (int8)
            all = int8->run(x, crop, saturated);
        else
            all = model.backend().headCropped(
                x.to(model.device()).contiguous(at::MemoryFormat::ChannelsLast), layer, crop);
    }
    return innerCells(all, origin, inner, field.stride);
}

// The features of `inner`'s cells from a tile's input, in int8 when `int8` is set: cropped step
// by step unless LUCIDA_DENSE_NO_CROP=1 (or setDenseTrunkCrop(false)) asks for the whole trunk
// over the tile (its halo makes the inner cells the same either way).
at::Tensor tileFeatures(const Model& model, const std::string& layer, const Field& field,
                        const FloatTensor& input, const DenseRect& read, const DenseRect& inner,
                        const QuantisedTrunk* int8, double* saturated = nullptr) {
    if (denseTrunkCrop())
        return croppedTrunk(model, layer, field, input, read, inner, int8, saturated);
    if (int8) {
        c10::InferenceMode inference;
        const at::Tensor x =
            torch::from_blob(const_cast<float*>(input.data.data()), input.shape, torch::kFloat32);
        return innerCells(int8->run(x, {}, saturated), read, inner, field.stride);
    }
    return innerCells(trunk(model, layer, input), read, inner, field.stride);
}
}  // namespace

FloatTensor DenseCam::features(const DenseReader& read, const DenseRect& region,
                               const DenseRect& inner) const {
    const DenseRect r = readRect(region, inner);
    return toHost(tileFeatures(*impl_->model, impl_->layer, impl_->field, read(r), r, inner,
                               impl_->int8.get()));
}

FloatTensor DenseCam::tileMaps(const FloatTensor& input, const DenseRect& read,
                               const DenseRect& inner, double* saturated) const {
    if (saturated) *saturated = 0;
    const at::Tensor f = tileFeatures(*impl_->model, impl_->layer, impl_->field, input, read, inner,
                                      impl_->int8.get(), saturated);
    return toHost(mapsOf(f[0], impl_->weights, impl_->method));
}

DenseRect DenseCam::readRect(const DenseRect& region, const DenseRect& inner,
                             const DenseRect* previous, const std::vector<DenseRect>* above) const {
    const DenseRect whole = readRect(region, inner);
    if (!denseTrunkCrop() || !denseStreaming()) return whole;
    const int s = stride(), after = support().haloAfter;
    const Field& f = impl_->field;
    int x0 = whole.x, y0 = whole.y;
    // (a tile whose neighbour's halo was cut at the region's edge reads its whole halo)
    if (previous && nextInRow(*previous, inner, s) && inner.x + after <= region.width)
        x0 = streamedStart(f, inner.x, s, whole.x);
    if (above && inner.y + after <= region.height && !coverAbove(*above, inner, s).empty())
        y0 = streamedStart(f, inner.y, s, whole.y);
    return {x0, y0, whole.x + whole.width - x0, whole.y + whole.height - y0};
}

namespace {
// The tiles whose last rows `bottoms` keeps for `owner`'s trunk `generation` (none when they are
// another's), in bottoms->tiles' order.
std::vector<DenseRect> keptTiles(const DenseCarry::Bottoms* bottoms, const void* owner,
                                 std::uint64_t generation) {
    std::vector<DenseRect> tiles;
    if (bottoms && bottoms->owner == owner && bottoms->generation == generation)
        for (const auto& t : bottoms->tiles) tiles.push_back(t->inner);
    return tiles;
}
}  // namespace

DenseRect DenseCam::readRect(const DenseRect& region, const DenseRect& inner,
                             const DenseRect* previous, const DenseCarry& carry) const {
    const DenseCarry::Bottoms* b = carry.bottoms_.get();
    std::vector<DenseRect> above = keptTiles(b, this, impl_->generation);
    // The tile running now keeps its last rows unless the budget is spent (or carry holds
    // another trunk's, which that run replaces).
    const bool spent = b && b->owner == this && b->generation == impl_->generation && b->full;
    if (previous && !spent) above.push_back(*previous);
    return readRect(region, inner, previous, &above);
}

namespace {
// What `inner`, read from `read`, streams from in `carry`'s state and bottoms (owned by `owner`,
// trunk `generation`): the left tile where read starts after its whole halo's (`halo` before the
// cell) first column, the bottoms above where it starts below its first row. `ok` is false when
// read asks for what they do not hold.
StreamFrom streamFrom(const DenseCarry::State* left, const DenseCarry::Bottoms* bottoms,
                      const void* owner, std::uint64_t generation, const Field& f, int halo,
                      const DenseRect& read, const DenseRect& inner, bool& ok) {
    const int s = f.stride;
    const int wholeX = std::max(0, inner.x - halo), wholeY = std::max(0, inner.y - halo);
    StreamFrom from;
    ok = true;
    if (read.x != wholeX) {
        ok = left && left->owner == owner && left->generation == generation &&
             left->tails.size() == f.jump.size() && nextInRow(left->inner, inner, s) &&
             read.x == streamedReadX(f, left->lastX.front(), wholeX);
        if (ok) from.left = left;
    }
    if (ok && read.y != wholeY) {
        for (std::size_t i : coverAbove(keptTiles(bottoms, owner, generation), inner, s)) {
            const auto& b = bottoms->tiles[i];
            ok = ok && b->rows.size() == f.jump.size();
            from.above.push_back(b);
        }
        ok = ok && !from.above.empty() &&
             read.y == streamedReadX(f, from.above.front()->lastY.front(), wholeY);
    }
    return from;
}
}  // namespace

bool DenseCam::continues(const DenseCarry& carry, const DenseRect& read,
                         const DenseRect& inner) const {
    if (!denseTrunkCrop()) return false;
    bool ok = false;
    const StreamFrom from = streamFrom(carry.state_.get(), carry.bottoms_.get(), this,
                                       impl_->generation, impl_->field, halo(), read, inner, ok);
    return ok && from.any();
}

FloatTensor DenseCam::tileMaps(const FloatTensor& input, const DenseRect& read,
                               const DenseRect& inner, double* saturated, DenseCarry& carry,
                               std::vector<double>* stepPixels) const {
    if (!denseTrunkCrop()) {
        carry.clear();
        return tileMaps(input, read, inner, saturated);
    }
    if (saturated) *saturated = 0;
    auto next = std::make_unique<DenseCarry::State>();
    next->owner = this;
    next->generation = impl_->generation;
    next->read = read;
    next->inner = inner;
    bool ok = false;
    const StreamFrom from = streamFrom(carry.state_.get(), carry.bottoms_.get(), this,
                                       impl_->generation, impl_->field, halo(), read, inner, ok);
    if (!ok)  // callers read the whole halo when continues() says no
        throw std::logic_error("dense streaming: a tile's read asks for what is not kept");
    if (!carry.bottoms_ || carry.bottoms_->owner != this ||
        carry.bottoms_->generation != impl_->generation) {
        carry.bottoms_ = std::make_unique<DenseCarry::Bottoms>();
        carry.bottoms_->owner = this;
        carry.bottoms_->generation = impl_->generation;
    }
    auto bottom = std::make_shared<DenseBottom>();
    bottom->inner = inner;
    const at::Tensor f =
        croppedTrunk(*impl_->model, impl_->layer, impl_->field, input, read, inner,
                     impl_->int8.get(), saturated, &from, next.get(), bottom.get(), stepPixels);
    carry.state_ = std::move(next);
    DenseCarry::Bottoms& kept = *carry.bottoms_;
    if (kept.bytes + bottom->bytes <= impl_->keepBytes) {
        kept.bytes += bottom->bytes;
        kept.tiles.push_back(std::move(bottom));
    } else {
        kept.full = true;
    }
    return toHost(mapsOf(f[0], impl_->weights, impl_->method));
}

FloatTensor DenseCam::maps(const FloatTensor& features) const {
    return toHost(mapsOf(toTensor(features)[0], impl_->weights, impl_->method));
}

FloatTensor denseMapsInTiles(const DenseCam& dense, const DenseReader& read, int width, int height,
                             int tile, bool streamed) {
    const int s = dense.stride();
    tile = std::max(s, roundUp(tile, s));
    const DenseRect region{0, 0, width, height};
    std::vector<std::vector<FloatTensor>> rows;
    DenseCarry carry;
    std::optional<DenseRect> previous;
    for (int y = 0; y < height; y += tile) {
        rows.emplace_back();
        for (int x = 0; x < width; x += tile) {
            const DenseRect inner{x, y, std::min(tile, width - x), std::min(tile, height - y)};
            carry.keepFrom(x, y);
            if (!streamed) {
                rows.back().push_back(dense.maps(read, region, inner));
                continue;
            }
            const DenseRect r =
                dense.readRect(region, inner, previous ? &*previous : nullptr, carry);
            const DenseRect whole = dense.readRect(region, inner);
            if ((r.x != whole.x || r.y != whole.y) && !dense.continues(carry, r, inner))
                throw std::logic_error("dense streaming: a tile does not continue what is kept");
            rows.back().push_back(dense.tileMaps(read(r), r, inner, nullptr, carry));
            previous = inner;
        }
    }
    std::vector<at::Tensor> stripes;
    for (const auto& row : rows) {
        std::vector<at::Tensor> parts;
        for (const auto& t : row) parts.push_back(toTensor(t));
        stripes.push_back(torch::cat(parts, 2));
    }
    return toHost(torch::cat(stripes, 1));
}

int denseTileSideFor(std::int64_t freeBytes, double perPixelBytes, std::int64_t fixedBytes,
                     int stride, int maxSide) {
    BatchSizeOptions options;
    options.maxBatch = std::numeric_limits<int>::max();
    const auto perBlock =
        static_cast<std::int64_t>(std::ceil(std::max(1e-3, perPixelBytes) * stride * stride));
    const int blocks = batchSizeFor(freeBytes, perBlock, fixedBytes, options);
    const int side = static_cast<int>(std::floor(std::sqrt(double(blocks)))) * stride;
    return std::clamp(side, stride, std::max(stride, maxSide / stride * stride));
}

int denseTileSideForDevice(const DenseCam& dense, const Model& model, int maxSide) {
    if (!torch::Device(model.device()).is_cuda()) return 0;
    const auto free = freeMemoryBytes(model.device());
    if (!free) return 0;
    // Peaks of the trunk over two square tiles (after one unmeasured run): the slope is the cost
    // of a pixel, what is left at the larger side the fixed cost.
    const int small = 4 * dense.windowCells() * dense.stride(), large = 2 * small;
    const auto peakAt = [&](int side) {
        const FloatTensor zeros({1, 3, side, side});
        return peakBytesDuring(model.device(), [&] { dense.features(zeros); });
    };
    dense.features(FloatTensor({1, 3, small, small}));
    const std::int64_t a = peakAt(small), b = peakAt(large);
    const double perPixel =
        std::max(1.0, double(b - a) / (double(large) * large - double(small) * small));
    const auto fixed =
        std::max<std::int64_t>(0, b - static_cast<std::int64_t>(perPixel * large * large));
    return denseTileSideFor(*free, perPixel, fixed, dense.stride(), maxSide);
}

std::vector<float> denseWindowLogits(const DenseCam& dense, const FloatTensor& maps, int cx, int cy,
                                     int cells) {
    const int k = dense.logitCount();
    const auto h = maps.size(1), w = maps.size(2);
    std::vector<float> logits(static_cast<std::size_t>(k));
    for (int c = 0; c < k; ++c) {
        double sum = 0;
        for (int y = cy; y < cy + cells; ++y)
            for (int x = cx; x < cx + cells; ++x)
                if (y >= 0 && y < h && x >= 0 && x < w)
                    sum += maps.data[static_cast<std::size_t>((c * h + y) * w + x)];
        logits[static_cast<std::size_t>(c)] = static_cast<float>(sum / (double(cells) * cells)) +
                                              dense.bias()[static_cast<std::size_t>(c)];
    }
    return logits;
}

}  // namespace lucida
