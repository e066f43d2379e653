// A native network's trunk in int8 through LibTorch's quantised operators (see QuantisedTrunk.h).
#include "model/QuantisedTrunk.h"

#include "model/FloatTensor.h"
#include "model/Model.h"
#include "model/NativeNetwork.h"

#include <ATen/Parallel.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/native/quantized/PackedParams.h>
#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <numeric>
#include <stdexcept>
#include <vector>

namespace lucida {
namespace {

using PackedConv = c10::intrusive_ptr<ConvPackedParamsBase<2>>;

// One operation of the trunk on numbered activation slots (slot 0 holds the input).
struct Op {
    enum class Kind { Conv, MaxPool, AddRelu } kind = Kind::Conv;
    int in = 0, in2 = 0, out = 0;
    int endsStep = -1;  // >= 0: this op's output (in slot 0) is that step's (dense mode's crops)
    std::shared_ptr<const FoldedConv> conv;            // Conv
    bool relu = false;                                 // Conv
    std::int64_t kernel = 0, stride = 0, padding = 0;  // MaxPool
    // Calibration: the output's range; after finish(), its scale and zero point and the weights.
    double lo = 0, hi = 0;
    bool seen = false;
    double scale = 1;
    std::int64_t zeroPoint = 0;
    PackedConv packed;
    // Conv: the smallest input (cells, h · w) oneDNN refused to run in int8; from there on it is
    // not asked again (a refusal costs a failed primitive creation and an exception per tile).
    std::shared_ptr<std::atomic<std::int64_t>> refusedFrom =
        std::make_shared<std::atomic<std::int64_t>>(std::numeric_limits<std::int64_t>::max());
};

std::string chooseEngine() {
    const auto& engines = at::globalContext().supportedQEngines();
    for (const auto engine : {at::kONEDNN, at::kQNNPACK})
        if (std::find(engines.begin(), engines.end(), engine) != engines.end())
            return engine == at::kONEDNN ? "onednn" : "qnnpack";
    return {};
}

torch::nn::Module& child(NativeNetwork& net, const std::string& name) {
    for (const auto& item : net.module().named_modules())
        if (item.key() == name) return *item.value();
    throw std::invalid_argument("int8: " + net.architecture() + " has no module " + name);
}

Op convOp(NativeNetwork& net, const std::string& conv, const std::string& bn, int in, int out,
          bool relu) {
    Op op;
    op.conv = foldConvBatchNorm(child(net, conv), child(net, bn));
    op.in = in, op.out = out, op.relu = relu;
    return op;
}

Op poolOp(int slot, std::int64_t kernel, std::int64_t stride, std::int64_t padding) {
    Op op;
    op.kind = Op::Kind::MaxPool;
    op.in = op.out = slot;
    op.kernel = kernel, op.stride = stride, op.padding = padding;
    return op;
}

// The small CNN: (max pool 2 from the second block on) conv-BN-ReLU, per step.
std::vector<Op> smallCnnOps(NativeNetwork& net, std::size_t last) {
    std::vector<Op> ops;
    for (std::size_t step = 0; step < std::min<std::size_t>(last, 4); ++step) {
        if (step > 0) ops.push_back(poolOp(0, 2, 2, 0));
        const std::string block = "block" + std::to_string(step + 1);
        ops.push_back(convOp(net, block + ".0", block + ".1", 0, 0, true));
        ops.back().endsStep = int(step);
    }
    return ops;
}

// torchvision's ResNets: the stem, then per block conv1 (+ReLU), conv2 (+ReLU and conv3 in a
// bottleneck), the shortcut (downsample or the input) and add+ReLU into slot 0.
std::vector<Op> resNetOps(NativeNetwork& net, std::size_t last) {
    std::vector<Op> ops;
    if (last == 0) return ops;
    ops.push_back(convOp(net, "conv1", "bn1", 0, 0, true));
    ops.push_back(poolOp(0, 3, 2, 1));
    ops.back().endsStep = 0;  // the stem
    std::size_t step = 1;
    for (const auto& layer : net.targetLayers()) {
        if (layer.kind == "Sequential") continue;  // a stage: its blocks follow
        if (step >= last) break;
        const std::string& b = layer.name;
        const bool bottleneck = layer.kind == "Bottleneck";
        ops.push_back(convOp(net, b + ".conv1", b + ".bn1", 0, 1, true));
        ops.push_back(convOp(net, b + ".conv2", b + ".bn2", 1, 2, bottleneck));
        int main = 2;
        if (bottleneck) ops.push_back(convOp(net, b + ".conv3", b + ".bn3", 2, main = 3, false));
        int shortcut = 0;
        bool hasDownsample = false;
        for (const auto& item : net.module().named_modules())
            hasDownsample |= item.key() == b + ".downsample";
        if (hasDownsample)
            ops.push_back(
                convOp(net, b + ".downsample.0", b + ".downsample.1", 0, shortcut = 4, false));
        Op add;
        add.kind = Op::Kind::AddRelu;
        add.in = main, add.in2 = shortcut, add.out = 0;
        add.endsStep = int(step);
        ops.push_back(std::move(add));
        ++step;
    }
    return ops;
}

// A sample of at most ~1M values of x (strided with a step coprime to the channel count).
at::Tensor sampleOf(const at::Tensor& x) {
    const at::Tensor flat = x.permute({0, 2, 3, 1}).reshape(-1);
    const std::int64_t n = flat.numel(), channels = x.size(1);
    std::int64_t step = std::max<std::int64_t>(1, n >> 20);
    while (std::gcd(step, channels) != 1) ++step;
    return flat.slice(0, 0, n, step).to(torch::kFloat32);
}

void observe(Op& op, RangeObserver observer, const at::Tensor& x) {
    double lo = 0, hi = 0;
    if (observer == RangeObserver::MinMax) {
        lo = x.min().item<double>(), hi = x.max().item<double>();
    } else {
        const at::Tensor sample = sampleOf(x).contiguous();
        const auto n = static_cast<std::size_t>(sample.numel());
        lo = quantileOf(sample.data_ptr<float>(), n, 1e-4);
        hi = quantileOf(sample.data_ptr<float>(), n, 1 - 1e-4);
    }
    op.lo = op.seen ? std::min(op.lo, lo) : lo;
    op.hi = op.seen ? std::max(op.hi, hi) : hi;
    op.seen = true;
}

// uint8 scale and zero point of a range (which must hold 0: ReLU outputs and zero padding).
// Calibration sees a few pieces of the image; what it did not see — a lesion, the very places a
// CAM is read for — may reach further. Without room above the observed range the 8192 × 6144
// demo slide's lesions clipped flat at the top of the scale (every lesion cell at the CAM's
// maximum; CAM r 0.961 against fp32); twice the range gives r 0.99996 there and keeps random
// ResNet-18 features at r > 0.995 (four times did not: 0.992).
constexpr double kHeadroom = 2.0;

void fixScale(double lo, double hi, double& scale, std::int64_t& zeroPoint) {
    lo = std::min(lo, 0.0) * kHeadroom, hi = std::max(hi, 0.0) * kHeadroom;
    scale = std::max((hi - lo) / 255.0, 1e-8);
    zeroPoint = std::clamp<std::int64_t>(std::llround(-lo / scale), 0, 255);
}

PackedConv prepack(const FoldedConv& conv) {
    static auto op = c10::Dispatcher::singleton()
                         .findSchemaOrThrow("quantized::conv2d_prepack", "")
                         .typed<PackedConv(at::Tensor, c10::optional<at::Tensor>,
                                           torch::List<std::int64_t>, torch::List<std::int64_t>,
                                           torch::List<std::int64_t>, std::int64_t)>();
    // Per output channel, symmetric: scale max|w| / 127, zero point 0.
    const at::Tensor w = foldedWeight(conv).to(torch::kFloat32).contiguous();
    const at::Tensor scales =
        (w.abs().amax({1, 2, 3}).to(torch::kFloat64) / 127.0).clamp_min(1e-12);
    const at::Tensor qw = torch::quantize_per_channel(
        w, scales, torch::zeros({w.size(0)}, torch::kLong), 0, torch::kQInt8);
    const auto list = [](const std::vector<std::int64_t>& v) {
        return torch::List<std::int64_t>(v);
    };
    return op.call(qw, foldedBias(conv).to(torch::kFloat32), list(foldedStride(conv)),
                   list(foldedPadding(conv)), torch::List<std::int64_t>({1, 1}), 1);
}

// Quantised max pooling needs every size as a pair (a default dilation of {1} reads past it).
at::Tensor pool(const Op& op, const at::Tensor& x) {
    return torch::max_pool2d(x, {op.kernel, op.kernel}, {op.stride, op.stride},
                             {op.padding, op.padding}, {1, 1});
}

at::Tensor addRelu(const at::Tensor& a, const at::Tensor& b, double scale, std::int64_t zp) {
    static auto op = c10::Dispatcher::singleton()
                         .findSchemaOrThrow("quantized::add_relu", "")
                         .typed<at::Tensor(at::Tensor, at::Tensor, double, std::int64_t)>();
    return op.call(a, b, scale, zp);
}

// A quantised convolution; where oneDNN cannot run it, the same convolution in float between
// the same quantised input and output. LibTorch 1.13's oneDNN picks other kernels for larger
// inputs on CPUs with AVX512-VNNI, and for some layers (ResNet-18's layer4.0 from 32² input
// cells, i.e. tiles from 512 px) fails with "could not create a primitive descriptor for a
// reorder primitive" (int8_trunk_test::largeInputsRun); capping oneDNN below VNNI avoids it but
// slows every int8 layer. The refusal is remembered per convolution by input size (it comes with
// larger inputs): larger inputs go straight to float (as accurate, only slower).
at::Tensor quantisedConv(const Op& op, const at::Tensor& x) {
    const std::int64_t cells = x.size(2) * x.size(3);
    if (cells < op.refusedFrom->load(std::memory_order_relaxed)) {
        try {
            return op.relu ? op.packed->apply_relu(x, op.scale, op.zeroPoint)
                           : op.packed->apply(x, op.scale, op.zeroPoint);
        } catch (const c10::Error&) {
            throw;
        } catch (const std::exception&) {  // dnnl::error
            std::int64_t seen = op.refusedFrom->load();
            while (cells < seen && !op.refusedFrom->compare_exchange_weak(seen, cells)) {
            }
        }
    }
    {
        at::Tensor y = applyFolded(*op.conv, x.dequantize());
        if (op.relu) y.relu_();
        return torch::quantize_per_tensor(y.contiguous(at::MemoryFormat::ChannelsLast), op.scale,
                                          op.zeroPoint, torch::kQUInt8);
    }
}

}  // namespace

std::string quantisedEngine() {
    static const std::string engine = chooseEngine();
    return engine;
}

struct QuantisedTrunk::Impl {
    std::shared_ptr<NativeNetwork> net;
    RangeObserver observer = RangeObserver::Percentile;
    std::vector<Op> ops;
    Op input;  // the input's range and scale (kind unused)
    std::size_t calibrated = 0;
    bool ready = false;
    std::string engine;

    // Runs the ops in float; with `calibrating`, observes every output.
    at::Tensor runFloat(at::Tensor x, bool calibrating) {
        std::vector<at::Tensor> slots(5);
        slots[0] = x.contiguous(at::MemoryFormat::ChannelsLast);
        if (calibrating) observe(input, observer, slots[0]);
        for (Op& op : ops) {
            at::Tensor y;
            if (op.kind == Op::Kind::Conv) {
                y = applyFolded(*op.conv, slots[std::size_t(op.in)]);
                if (op.relu) y.relu_();
            } else if (op.kind == Op::Kind::MaxPool) {
                y = pool(op, slots[std::size_t(op.in)]);
            } else {
                y = (slots[std::size_t(op.in)] + slots[std::size_t(op.in2)]).relu_();
            }
            if (calibrating && op.kind != Op::Kind::MaxPool) observe(op, observer, y);
            slots[std::size_t(op.out)] = std::move(y);
        }
        return slots[0];
    }
};

QuantisedTrunk::QuantisedTrunk(std::shared_ptr<NativeNetwork> net, std::size_t last,
                               RangeObserver observer)
    : impl_(std::make_unique<Impl>()) {
    Impl& m = *impl_;
    m.engine = quantisedEngine();
    if (m.engine.empty())
        throw std::invalid_argument(
            "int8: this LibTorch has no quantised engine (onednn, qnnpack)");
    const std::string arch = net->architecture();
    if (arch != "smallcnn" && arch.rfind("resnet", 0) != 0)
        throw std::invalid_argument("int8: no quantised trunk for " + arch);
    m.net = std::move(net);
    m.observer = observer;
    torch::NoGradGuard noGrad;
    m.ops = arch == "smallcnn" ? smallCnnOps(*m.net, last) : resNetOps(*m.net, last);
}

QuantisedTrunk::~QuantisedTrunk() = default;

void QuantisedTrunk::calibrate(const at::Tensor& input) {
    c10::InferenceMode inference;
    impl_->runFloat(input.to(torch::kFloat32), true);
    ++impl_->calibrated;
    impl_->ready = false;
}

std::size_t QuantisedTrunk::calibrationInputs() const { return impl_->calibrated; }

void QuantisedTrunk::finish() {
    Impl& m = *impl_;
    if (m.calibrated == 0) throw std::logic_error("int8: the trunk was not calibrated");
    at::globalContext().setQEngine(m.engine == "onednn" ? at::kONEDNN : at::kQNNPACK);
    c10::InferenceMode inference;
    fixScale(m.input.lo, m.input.hi, m.input.scale, m.input.zeroPoint);
    for (Op& op : m.ops) {
        if (op.kind == Op::Kind::MaxPool) continue;
        fixScale(op.lo, op.hi, op.scale, op.zeroPoint);
        if (op.kind == Op::Kind::Conv) op.packed = prepack(*op.conv);
    }
    m.ready = true;
}

bool QuantisedTrunk::ready() const { return impl_->ready; }
std::string QuantisedTrunk::engine() const { return impl_->engine; }

at::Tensor QuantisedTrunk::run(const at::Tensor& input) const { return run(input, {}); }

at::Tensor QuantisedTrunk::run(const at::Tensor& input, const StepCrop& crop) const {
    return run(input, crop, nullptr);
}

at::Tensor QuantisedTrunk::run(const at::Tensor& input, const StepCrop& crop,
                               double* saturated) const {
    const Impl& m = *impl_;
    if (!m.ready) throw std::logic_error("int8: run before finish()");
    c10::InferenceMode inference;
    std::vector<at::Tensor> slots(5);
    slots[0] = torch::quantize_per_tensor(
        input.to(torch::kFloat32).contiguous(at::MemoryFormat::ChannelsLast), m.input.scale,
        m.input.zeroPoint, torch::kQUInt8);
    if (saturated) *saturated = rangeEndShare(slots[0]);
    for (const Op& op : m.ops) {
        const at::Tensor& x = slots[std::size_t(op.in)];
        at::Tensor y;
        if (op.kind == Op::Kind::Conv)
            y = quantisedConv(op, x);
        else if (op.kind == Op::Kind::MaxPool)
            y = pool(op, x);
        else
            y = addRelu(x, slots[std::size_t(op.in2)], op.scale, op.zeroPoint);
        if (saturated && op.kind != Op::Kind::MaxPool)
            *saturated = std::max(*saturated, rangeEndShare(y));
        slots[std::size_t(op.out)] = std::move(y);
        // A crop is a strided view of the NHWC tensor; the quantised convolutions and pooling
        // read it densely packed (a no-op when nothing was cut).
        if (crop && op.endsStep >= 0)
            slots[0] =
                crop(std::size_t(op.endsStep), slots[0]).contiguous(at::MemoryFormat::ChannelsLast);
    }
    return slots[0].dequantize();
}

std::size_t QuantisedTrunk::floatConvolutions() const {
    return static_cast<std::size_t>(
        std::count_if(impl_->ops.begin(), impl_->ops.end(), [](const Op& op) {
            return op.refusedFrom->load() != std::numeric_limits<std::int64_t>::max();
        }));
}

at::Tensor QuantisedTrunk::runFloat(const at::Tensor& input) const {
    c10::InferenceMode inference;
    return impl_->runFloat(input.to(torch::kFloat32), false);
}

namespace {
// Bytes equal to 255 or `low`, in blocks of 128 (a fixed trip count that -O2 vectorises: ~18 GB/s
// against ~1 GB/s for the plain loop).
std::int64_t countEnds(const std::uint8_t* bytes, std::int64_t n, std::uint8_t low) {
    std::int64_t count = 0, i = 0;
    for (; i + 128 <= n; i += 128) {
        std::uint8_t block = 0;
        for (int j = 0; j < 128; ++j)
            block += static_cast<std::uint8_t>((bytes[i + j] == 255) | (bytes[i + j] == low));
        count += block;
    }
    for (; i < n; ++i) count += (bytes[i] == 255) | (bytes[i] == low);
    return count;
}
}  // namespace

// Counted on the bytes in one pass: int_repr() and two comparisons per output had cost ResNet-18
// twice its int8 trunk in a whole-slide run (section slide: 16.8 s against 4.6 s without the
// count).
double rangeEndShare(const at::Tensor& q) {
    const at::Tensor dense = q.is_contiguous(at::MemoryFormat::ChannelsLast) || q.is_contiguous()
                                 ? q
                                 : q.contiguous(at::MemoryFormat::ChannelsLast);
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(dense.data_ptr<c10::quint8>());
    const std::uint8_t low = q.q_zero_point() > 0 ? 0 : 255;  // 0 is the zero point: not an end
    const std::int64_t n = dense.numel();
    std::atomic<std::int64_t> ends{0};
    at::parallel_for(0, n, 1 << 18, [&](std::int64_t begin, std::int64_t end) {
        ends += countEnds(bytes + begin, end - begin, low);
    });
    return double(ends.load()) / double(std::max<std::int64_t>(1, n));
}

// torch::quantile's value (linear between the two nearest ranks) from the nearer end's few ranks
// (a bounded heap: partial_sort_copy), not a sort: sorting each output's million-value sample made
// calibration cost seconds (ResNet-18, four 512² pieces: ~4 s of a 9 s whole-slide run).
double quantileOf(const float* v, std::size_t n, double q) {
    if (n == 0) return 0;
    const double at = q * double(n - 1);
    const std::size_t k = std::min(n - 1, static_cast<std::size_t>(std::floor(at)));
    const std::size_t k1 = std::min(n - 1, k + 1);
    double below = 0, above = 0;
    if (k1 < n - 1 - k) {  // the ranks k and k1 from the bottom
        std::vector<float> low(k1 + 1);
        std::partial_sort_copy(v, v + n, low.begin(), low.end());
        below = low[k], above = low[k1];
    } else {  // from the top: rank k is the (n − 1 − k)-th largest
        std::vector<float> high(n - k);
        std::partial_sort_copy(v, v + n, high.begin(), high.end(), std::greater<float>());
        below = high[n - 1 - k], above = high[n - 1 - k1];
    }
    return below + (above - below) * (at - double(k));
}

std::string int8Refusal(const Model& model) {
    if (model.device() != "cpu")
        return "int8 runs on the CPU only, the model is on " + model.device();
    if (!nativeNetworkOf(model.backend()))
        return "int8 needs a native .pth ResNet or small CNN, not " + model.spec().architecture;
    if (quantisedEngine().empty()) return "this LibTorch has no quantised engine";
    return {};
}

std::shared_ptr<const QuantisedTrunk> calibratedTrunk(const Model& model, const std::string& layer,
                                                      const std::vector<FloatTensor>& inputs) {
    if (const std::string why = int8Refusal(model); !why.empty()) throw std::invalid_argument(why);
    auto net = nativeNetworkOf(model.backend());
    std::size_t last = 0;
    for (const auto& l : net->targetLayers())
        if (l.name == layer) last = l.step + 1;
    if (last == 0) throw std::invalid_argument("int8: unknown target layer " + layer);
    auto trunk = std::make_shared<QuantisedTrunk>(net, last);
    for (const FloatTensor& input : inputs)
        trunk->calibrate(
            torch::from_blob(const_cast<float*>(input.data.data()), input.shape, torch::kFloat32));
    trunk->finish();
    return trunk;
}

}  // namespace lucida
