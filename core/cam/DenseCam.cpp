// Dense mode: the trunk over large tiles with receptive-field halos, CAM maps and window logits
// from the stitched feature map (see DenseCam.h).
#include "cam/DenseCam.h"

#include "cam/Batching.h"
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

// The receptive field of a trunk, from its layers (cell positions are multiples of the jump; a
// layer of kernel k, stride t, padding p maps output cell o to input cells [o·t − p, o·t − p + k)).
struct Field {
    int stride = 0;             // model pixels per final cell (the product of the strides)
    int before = 0, after = 0;  // how far a final cell's field reaches before (Σ p · jump) and
                                // after (Σ (k − 1 − p) · jump) the cell's own position, pixels
    // Per step: pixels per output cell, and the reach of the steps after it (dense mode's crops).
    std::vector<int> jump, restBefore, restAfter;
    bool known() const { return stride > 0; }
};

Field fieldOf(const std::vector<std::vector<SpatialLayer>>& steps) {
    Field f;
    if (steps.empty()) return f;
    int jump = 1;
    std::vector<int> before, after;
    for (const auto& step : steps) {
        for (const SpatialLayer& l : step) {
            f.before += l.padding * jump;
            f.after += (l.kernel - 1 - l.padding) * jump;
            jump *= l.stride;
        }
        f.jump.push_back(jump);
        before.push_back(f.before);
        after.push_back(f.after);
    }
    f.stride = jump;
    for (std::size_t k = 0; k < steps.size(); ++k) {
        f.restBefore.push_back(f.before - before[k]);
        f.restAfter.push_back(f.after - after[k]);
    }
    return f;
}

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

int roundUp(int value, int step) { return (value + step - 1) / step * step; }
int floorTo(int value, int step) {
    return value >= 0 ? value / step * step : -((-value + step - 1) / step) * step;
}

// The reach of step `s` itself before its first output, model pixels.
int stepBefore(const Field& f, std::size_t s) {
    return (s == 0 ? f.before : f.restBefore[s - 1]) - f.restBefore[s];
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
    const Field f = fieldOf(model.backend().trunkGeometry(layer));
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
        field = fieldOf(model.backend().trunkGeometry(layer));
    } catch (const std::exception& e) {
        s.reason = std::string("the target layer cannot be run: ") + e.what();
        return s;
    }
    if (!field.known()) {
        s.reason = "the receptive field of a " + model.spec().architecture +
                   " model is not known (dense mode knows torchvision's ResNets and the small CNN)";
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
    // What follows the layer must be W · mean(A) + b: checked on random activations.
    torch::NoGradGuard noGrad;
    const at::Tensor bias = backend.tail(probe, torch::zeros_like(activation), layer).detach();
    const at::Tensor a = torch::rand_like(activation) * 4;
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
    m.field = fieldOf(model.backend().trunkGeometry(layer));
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
};

DenseCarry::DenseCarry() = default;
DenseCarry::~DenseCarry() = default;
void DenseCarry::clear() { state_.reset(); }

namespace {
// Keeps of step `step`'s kept output `kept` (its first column at `x0`, `j` pixels per column)
// what the next tile of the row can need: the columns from its first cell less the reach of the
// steps after this one (as tileCrop cuts), copied so that the step's output can go.
void keepTail(DenseCarry::State* next, const Field& field, std::size_t step, const at::Tensor& kept,
              int x0, int nextX) {
    if (!next) return;
    const int j = field.jump.at(step), s = field.stride;
    const int from = std::max(x0, nextX - roundUp(field.restBefore.at(step), s));
    const std::int64_t first = std::min<std::int64_t>(kept.size(3), (from - x0) / j);
    next->tails.push_back(kept.slice(3, first, kept.size(3)).clone());
    next->tailX.push_back(from);
    next->lastX.push_back(x0 + static_cast<int>(kept.size(3) - 1) * j);
}

// Whether `inner` is the next tile of `previous`'s row: the same rows, its first cell right after
// the last one's (`s`: the stride).
bool nextInRow(const DenseRect& previous, const DenseRect& inner, int s) {
    return inner.y == previous.y && inner.height == previous.height &&
           inner.x == previous.x + roundUp(previous.width, s);
}

// Where a tile continuing a row reads from: the first step's own reach before the first column of
// its output the tile before did not compute (that tile's last is at `last`), never before
// `wholeX`, where the tile's whole halo would start.
int streamedReadX(const Field& f, int last, int wholeX) {
    const int j = f.jump.front();
    return std::max(wholeX, floorTo(last + j - stepBefore(f, 0), j));
}

// Two pieces of a step's output side by side (the carried columns, then the new ones). Quantised
// pieces (one calibration: the same scale and zero point) are joined on their bytes: LibTorch's
// quantised cat along the width dequantises, joins and quantises again, which made streamed int8
// runs slower than whole halos (ResNet-18 section slide 9.1 against 5.3 s).
at::Tensor joinColumns(const at::Tensor& left, const at::Tensor& right) {
    if (left.size(3) == 0) return right;
    if (left.is_quantized() && right.is_quantized() && left.q_scale() == right.q_scale() &&
        left.q_zero_point() == right.q_zero_point()) {
        const at::Tensor bytes = torch::cat({left.int_repr(), right.int_repr()}, 3)
                                     .contiguous(at::MemoryFormat::ChannelsLast);
        return at::_make_per_tensor_quantized_tensor(bytes, left.q_scale(), left.q_zero_point());
    }
    return torch::cat({left, right}, 3).contiguous(at::MemoryFormat::ChannelsLast);
}

// Cuts each step's output of the trunk over a tile's input (the pixels of `read`) to the cells the
// remaining steps need for `inner`'s cells: at most their reach before (Σ padding · jump, rounded
// up to the final stride so that the crop keeps the region's grid) and after the first and last
// inner cell. Every kept cell depends only on kept cells of the step before (or on the region's
// own border), so the zero padding at a crop never reaches an inner cell: exact by construction.
// `origin` follows the current output's first cell (model pixels; starts at read's origin). One
// crop for the fp32 trunk (headCropped) and the int8 one (QuantisedTrunk::run).
// `next` (when given) gets each step's tail for the next tile of the row (keepTail).
StepCrop tileCrop(const Field& field, const DenseRect& inner, DenseRect& origin,
                  DenseCarry::State* next = nullptr) {
    const int s = field.stride;
    const int lastX = inner.x + (roundUp(inner.width, s) / s - 1) * s;
    const int lastY = inner.y + (roundUp(inner.height, s) / s - 1) * s;
    return [&field, inner, s, lastX, lastY, &origin, next](std::size_t step,
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
        keepTail(next, field, step, kept, x0, lastX + s);
        return kept;
    };
}

// The crop of a tile that continues `previous`'s row (DenseCarry): each step's output is cut to
// the columns the previous tile did not compute (its input began just that step's own reach
// before them) and the previous tile's kept columns are put in front, so that what the next step
// sees equals tileCrop's cut of a whole-halo run (exact: every new column's field lies within
// what was computed; the rows are tileCrop's). The next step's input then starts its own reach
// before its first new column.
StepCrop streamCrop(const Field& field, const DenseRect& inner, DenseRect& origin,
                    const DenseCarry::State& previous, DenseCarry::State& next) {
    const int s = field.stride;
    const int lastX = inner.x + (roundUp(inner.width, s) / s - 1) * s;
    const int lastY = inner.y + (roundUp(inner.height, s) / s - 1) * s;
    return [&field, inner, s, lastX, lastY, &origin, &previous, &next](std::size_t step,
                                                                       const at::Tensor& out) {
        const int j = field.jump.at(step), before = roundUp(field.restBefore.at(step), s);
        const int after = field.restAfter.at(step);
        const int ox = origin.x, oy = origin.y;
        const int y0 = std::max(oy, inner.y - before);
        const std::int64_t cy0 = (y0 - oy) / j;
        const std::int64_t cy1 = std::min<std::int64_t>(out.size(2), (lastY + after - oy) / j + 1);
        const int fresh = previous.lastX.at(step) + j;  // the first column not computed before
        if (fresh < ox || (fresh - ox) % j)
            throw std::logic_error("dense streaming: a step's input starts off its grid");
        const std::int64_t cx1 = std::min<std::int64_t>(out.size(3), (lastX + after - ox) / j + 1);
        const at::Tensor added = out.slice(3, (fresh - ox) / j, cx1).slice(2, cy0, cy1);
        const int tailX = previous.tailX.at(step);
        const int x0 = std::max(tailX, inner.x - before);
        const at::Tensor& tail = previous.tails.at(step);
        const at::Tensor carried =
            tail.slice(3, std::min<std::int64_t>(tail.size(3), (x0 - tailX) / j), tail.size(3));
        if (carried.size(2) != added.size(2))
            throw std::logic_error("dense streaming: the carried rows differ from the tile's");
        const at::Tensor kept = joinColumns(carried, added);
        keepTail(&next, field, step, kept, x0, lastX + s);
        origin.y = y0;
        if (step + 1 >= field.jump.size()) {
            origin.x = x0;
            return kept;
        }
        const int j1 = field.jump[step + 1];
        const int from = std::max(
            x0, floorTo(previous.lastX.at(step + 1) + j1 - stepBefore(field, step + 1), j1));
        origin.x = from;
        return kept.slice(3, (from - x0) / j, kept.size(3));
    };
}

// The trunk over a tile's input cropped step by step (tileCrop), in int8 when `int8` is set.
// Returns [1, C, h, w] of the inner cells (as many as the region has).
// `previous` (a tile this one continues, streamCrop) and `next` (gets this tile's tails) are
// optional.
at::Tensor croppedTrunk(const Model& model, const std::string& layer, const Field& field,
                        const FloatTensor& input, const DenseRect& read, const DenseRect& inner,
                        const QuantisedTrunk* int8, double* saturated,
                        const DenseCarry::State* previous = nullptr,
                        DenseCarry::State* next = nullptr,
                        std::vector<double>* stepPixels = nullptr) {
    DenseRect origin{read.x, read.y, 0, 0};
    const StepCrop cut = previous && next ? streamCrop(field, inner, origin, *previous, *next)
                                          : tileCrop(field, inner, origin, next);
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
                             const DenseRect* previous) const {
    const DenseRect whole = readRect(region, inner);
    const int s = stride();
    if (!previous || !denseTrunkCrop() || !denseStreaming() || !nextInRow(*previous, inner, s) ||
        inner.x + support().haloAfter > region.width)  // the previous tile's halo was cut
        return whole;
    const Field& f = impl_->field;
    // The previous tile kept the first step's output up to its last cell's reach after it.
    const int last = floorTo(inner.x - s + f.restAfter.front(), f.jump.front());
    const int x0 = streamedReadX(f, last, whole.x);
    return {x0, whole.y, whole.x + whole.width - x0, whole.height};
}

bool DenseCam::continues(const DenseCarry& carry, const DenseRect& read,
                         const DenseRect& inner) const {
    const DenseCarry::State* c = carry.state_.get();
    const int s = stride();
    if (!c || c->owner != this || c->generation != impl_->generation || !denseTrunkCrop() ||
        c->tails.size() != impl_->field.jump.size())
        return false;
    if (!nextInRow(c->inner, inner, s) || read.y != c->read.y || read.height != c->read.height ||
        c->read.x + c->read.width < inner.x + support().haloAfter)
        return false;
    return read.x == streamedReadX(impl_->field, c->lastX.front(), std::max(0, inner.x - halo()));
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
    const DenseCarry::State* previous =
        continues(carry, read, inner) ? carry.state_.get() : nullptr;
    const at::Tensor f =
        croppedTrunk(*impl_->model, impl_->layer, impl_->field, input, read, inner,
                     impl_->int8.get(), saturated, previous, next.get(), stepPixels);
    carry.state_ = std::move(next);
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
    for (int y = 0; y < height; y += tile) {
        rows.emplace_back();
        DenseCarry carry;
        std::optional<DenseRect> previous;
        for (int x = 0; x < width; x += tile) {
            const DenseRect inner{x, y, std::min(tile, width - x), std::min(tile, height - y)};
            if (!streamed) {
                rows.back().push_back(dense.maps(read, region, inner));
                continue;
            }
            const DenseRect r = dense.readRect(region, inner, previous ? &*previous : nullptr);
            // (a tile whose predecessor's halo was cut at the region's edge reads its whole halo)
            if (r.x != dense.readRect(region, inner).x && !dense.continues(carry, r, inner))
                throw std::logic_error("dense streaming: a row's tile does not continue it");
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
