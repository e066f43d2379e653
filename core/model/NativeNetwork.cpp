// What native networks share: construction by name, recognition and loading of state_dicts,
// saving in torch.save's format, and the explanation backend.
#include "model/NativeNetwork.h"

#include "io/AtomicFile.h"
#include "model/ModelError.h"
#include "model/StateDictModel.h"

#include <torch/cuda.h>
#include <torch/nn.h>
#include <torch/serialize.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <set>
#include <sstream>

namespace lucida {

struct FoldedConv {
    at::Tensor weight, bias;
    std::vector<std::int64_t> stride, padding;
};

namespace {
std::atomic<bool>& plainForwardFlag() {
    static std::atomic<bool> flag{[] {
        const char* value = std::getenv("LUCIDA_PLAIN_FORWARD");
        return value && *value && std::string(value) != "0";
    }()};
    return flag;
}
}  // namespace

bool plainForward() { return plainForwardFlag().load(std::memory_order_relaxed); }
void setPlainForward(bool plain) { plainForwardFlag().store(plain); }

at::Tensor NativeNetwork::runInference(const at::Tensor& x, std::size_t first, std::size_t last) {
    return run(x, first, last);
}

std::vector<std::vector<SpatialLayer>> NativeNetwork::stepGeometry() const { return {}; }

std::shared_ptr<const FoldedConv> foldConvBatchNorm(torch::nn::Module& conv,
                                                    torch::nn::Module& batchNorm) {
    auto* c = conv.as<torch::nn::Conv2d>();
    auto* bn = batchNorm.as<torch::nn::BatchNorm2d>();
    if (!c || !bn) throw std::logic_error("foldConvBatchNorm: not a Conv2d and a BatchNorm2d");
    torch::NoGradGuard noGrad;
    const auto dtype = c->weight.scalar_type();
    const at::Tensor scale = bn->weight.to(torch::kFloat64) /
                             torch::sqrt(bn->running_var.to(torch::kFloat64) + bn->options.eps());
    at::Tensor bias = bn->bias.to(torch::kFloat64) - bn->running_mean.to(torch::kFloat64) * scale;
    if (c->bias.defined()) bias = bias + c->bias.to(torch::kFloat64) * scale;
    auto folded = std::make_shared<FoldedConv>();
    folded->weight = (c->weight.to(torch::kFloat64) * scale.view({-1, 1, 1, 1}))
                         .to(dtype)
                         .contiguous(at::MemoryFormat::ChannelsLast);
    folded->bias = bias.to(dtype).contiguous();
    folded->stride = at::IntArrayRef(c->options.stride()).vec();
    folded->padding =
        at::IntArrayRef(c10::get<torch::ExpandingArray<2>>(c->options.padding())).vec();
    return folded;
}

at::Tensor applyFolded(const FoldedConv& conv, const at::Tensor& x) {
    return torch::conv2d(x, conv.weight, conv.bias, conv.stride, conv.padding);
}

const at::Tensor& foldedWeight(const FoldedConv& conv) { return conv.weight; }
const at::Tensor& foldedBias(const FoldedConv& conv) { return conv.bias; }
std::vector<std::int64_t> foldedStride(const FoldedConv& conv) { return conv.stride; }
std::vector<std::int64_t> foldedPadding(const FoldedConv& conv) { return conv.padding; }

std::int64_t parameterVersion(torch::nn::Module& module) {
    std::uint64_t h = 0;
    auto mix = [&h](const at::Tensor& t) {
        h = h * 1000003u + static_cast<std::uint64_t>(t._version()) +
            reinterpret_cast<std::uintptr_t>(t.data_ptr()) * 31u;
    };
    for (const auto& p : module.parameters()) mix(p);
    for (const auto& b : module.buffers()) mix(b);
    return static_cast<std::int64_t>(h);
}

// Defined beside their modules.
std::shared_ptr<NativeNetwork> makeResNetNetwork(const std::string& architecture,
                                                 std::int64_t outputs);
std::string recogniseResNet(const StateDict& state, std::string& detail);
std::shared_ptr<NativeNetwork> makeSmallCnnNetwork(std::int64_t outputs);

namespace {

std::string shapeText(at::IntArrayRef shape) {
    std::ostringstream out;
    out << shape;
    return out.str();
}

std::string listText(const std::vector<std::string>& names, std::size_t shown = 3) {
    std::string text;
    for (std::size_t i = 0; i < names.size() && i < shown; ++i) {
        text += (i ? ", " : "") + names[i];
    }
    if (names.size() > shown) text += " (" + std::to_string(names.size()) + " in all)";
    return text;
}

bool isHeadKey(const std::string& name) { return name.rfind("fc.", 0) == 0; }

// Fills or checks the classes against a head of `outputs` logits.
void reconcileSpec(const std::string& path, ModelSpec& spec, std::int64_t outputs) {
    if (spec.classes.empty() && outputs == 1) spec.output = OutputKind::SigmoidBinary;
    if (spec.output == OutputKind::SigmoidBinary) {
        if (outputs != 1) {
            throw ModelError(path, "head has " + std::to_string(outputs) +
                                       " outputs but a sigmoid (binary) model needs 1");
        }
        if (spec.classes.empty()) {
            spec.classes = {"negative", "positive"};
            spec.notices.push_back("no class names: one output read as \"positive\" (sigmoid)");
        } else if (spec.classes.size() != 2) {
            throw ModelError(path,
                             "a sigmoid (binary) model needs 2 class names, the sidecar "
                             "lists " +
                                 std::to_string(spec.classes.size()));
        }
        return;
    }
    if (spec.classes.empty()) {
        for (std::int64_t k = 0; k < outputs; ++k)
            spec.classes.push_back("class " + std::to_string(k));
        spec.notices.push_back("no class names: \"class 0\" … \"class " +
                               std::to_string(outputs - 1) + "\" shown");
    } else if (static_cast<std::int64_t>(spec.classes.size()) != outputs) {
        throw ModelError(path, "head has " + std::to_string(outputs) +
                                   " outputs but the sidecar lists " +
                                   std::to_string(spec.classes.size()) + " classes");
    }
}

class NativeBackend final : public ModelBackend {
public:
    NativeBackend(std::string path, std::shared_ptr<NativeNetwork> net, torch::Device device,
                  int height, int width)
        : path_(std::move(path)),
          net_(std::move(net)),
          device_(device),
          height_(height),
          width_(width) {
        for (const auto& layer : net_->targetLayers()) steps_[layer.name] = layer.step;
    }

    at::Tensor forward(const at::Tensor& input) override {
        // Parameters are frozen: without an input that needs its gradient nothing needs autograd.
        if (plainForward() || (at::GradMode::is_enabled() && input.requires_grad()))
            return net_->run(input.to(device_), 0, net_->stepCount());
        return inferenceRun(input, net_->stepCount());
    }

    at::Tensor head(const at::Tensor& input, const std::string& layer) override {
        const std::size_t step = stepOf(layer);
        if (!plainForward()) return inferenceRun(input, step + 1);
        torch::NoGradGuard noGrad;
        return net_->run(input.to(device_), 0, step + 1);
    }

    at::Tensor tail(const at::Tensor& /*input*/, const at::Tensor& activation,
                    const std::string& layer) override {
        const std::size_t step = stepOf(layer);
        torch::AutoGradMode gradEnabled(true);
        return net_->run(activation, step + 1, net_->stepCount());
    }

    std::vector<LayerInfo> layers() override {
        if (!layers_.empty()) return layers_;
        torch::NoGradGuard noGrad;
        // One pass, keeping each step's output.
        std::vector<at::Tensor> outputs;
        auto x = torch::zeros({1, 3, height_, width_}, device_);
        for (std::size_t step = 0; step + 1 < net_->stepCount(); ++step) {
            x = net_->run(x, step, step + 1);
            outputs.push_back(x);
        }
        for (const auto& layer : net_->targetLayers())
            layers_.push_back({layer.name, layer.kind, outputs.at(layer.step).sizes().vec()});
        return layers_;
    }

    at::Tensor linearHeadWeights() override { return net_->headWeight().detach(); }

    std::vector<std::vector<SpatialLayer>> trunkGeometry(const std::string& layer) override {
        std::vector<std::vector<SpatialLayer>> steps = net_->stepGeometry();
        const std::size_t last = stepOf(layer) + 1;
        if (steps.size() < last) return {};
        steps.resize(last);
        return steps;
    }

    at::Tensor headCropped(const at::Tensor& input, const std::string& layer,
                           const StepCrop& crop) override {
        const std::size_t last = stepOf(layer) + 1;
        if (net_->stepGeometry().size() < last)
            return ModelBackend::headCropped(input, layer, crop);
        at::Tensor x = input.to(device_);
        if (plainForward()) {
            torch::NoGradGuard noGrad;
            for (std::size_t step = 0; step < last; ++step)
                x = crop(step, net_->run(x, step, step + 1));
            return x;
        }
        const bool channelsLast = input.is_contiguous(at::MemoryFormat::ChannelsLast);
        {
            c10::InferenceMode inference;
            for (std::size_t step = 0; step < last; ++step)
                x = crop(step, net_->runInference(x, step, step + 1));
        }
        // An ordinary tensor, as inferenceRun returns.
        return x.clone(channelsLast ? at::MemoryFormat::ChannelsLast
                                    : at::MemoryFormat::Contiguous);
    }

    const std::shared_ptr<NativeNetwork>& network() const { return net_; }

    std::vector<std::pair<std::string, at::Tensor>> namedParameters() override {
        std::vector<std::pair<std::string, at::Tensor>> out;
        for (const auto& p : net_->module().named_parameters(/*recurse=*/true))
            out.emplace_back(p.key(), p.value());
        return out;
    }

private:
    // Steps [0, last) through runInference under InferenceMode, returned as an ordinary tensor
    // (autograd may use it: the tail's activation) in the input's memory layout.
    at::Tensor inferenceRun(const at::Tensor& input, std::size_t last) {
        at::Tensor out;
        {
            c10::InferenceMode inference;
            out = net_->runInference(input.to(device_), 0, last);
        }
        const auto layout = input.is_contiguous(at::MemoryFormat::ChannelsLast) && out.dim() == 4
                                ? at::MemoryFormat::ChannelsLast
                                : at::MemoryFormat::Contiguous;
        return out.clone(layout);
    }

    std::size_t stepOf(const std::string& layer) const {
        auto it = steps_.find(layer);
        if (it != steps_.end()) return it->second;
        std::string list;
        for (const auto& l : net_->targetLayers()) list += (list.empty() ? "" : ", ") + l.name;
        throw ModelError(path_, "unknown layer '" + layer + "' for " + net_->architecture() +
                                    "; valid layers: " + list);
    }

    std::string path_;
    std::shared_ptr<NativeNetwork> net_;
    torch::Device device_;
    int height_;
    int width_;
    std::map<std::string, std::size_t> steps_;  // layer name -> step whose output it is
    std::vector<LayerInfo> layers_;
};

}  // namespace

std::vector<std::string> nativeArchitectures() {
    return {"resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "smallcnn"};
}

std::shared_ptr<NativeNetwork> makeNativeNetwork(const std::string& architecture,
                                                 std::int64_t outputs) {
    if (architecture == "smallcnn") return makeSmallCnnNetwork(outputs);
    if (auto net = makeResNetNetwork(architecture, outputs)) return net;
    std::string names;
    for (const auto& name : nativeArchitectures()) names += (names.empty() ? "" : ", ") + name;
    throw std::invalid_argument("unknown architecture '" + architecture + "' (Lucida builds " +
                                names + ")");
}

std::string recogniseArchitecture(const std::string& path, const StateDict& state) {
    std::string detail;
    std::string resnet = recogniseResNet(state, detail);
    if (!resnet.empty()) return resnet;
    if (!detail.empty()) throw ModelError(path, "unknown architecture: " + detail);
    const bool smallCnn = std::any_of(state.begin(), state.end(), [](const auto& item) {
        return item.first.rfind("block1.0.", 0) == 0;
    });
    if (smallCnn) return "smallcnn";
    throw ModelError(path,
                     "unknown architecture: neither a torchvision ResNet (layer1…layer4 keys) "
                     "nor Lucida's small CNN (block1…block4 keys)");
}

std::int64_t headOutputs(const std::string& path, const StateDict& state) {
    auto fc = std::find_if(state.begin(), state.end(),
                           [](const auto& item) { return item.first == "fc.weight"; });
    if (fc == state.end() || fc->second.dim() != 2) {
        throw ModelError(path, "unknown architecture: no fc.weight [classes, features]");
    }
    return fc->second.size(0);
}

void loadNativeState(const std::string& path, NativeNetwork& net, const StateDict& state,
                     bool skipHead) {
    std::map<std::string, at::Tensor> targets;
    for (const auto& item : net.module().named_parameters())
        targets.emplace(item.key(), item.value());
    for (const auto& item : net.module().named_buffers()) targets.emplace(item.key(), item.value());
    const std::string arch = net.architecture();

    std::vector<std::string> unexpected;
    std::set<std::string> seen;
    torch::NoGradGuard noGrad;
    for (const auto& [name, tensor] : state) {
        if (skipHead && isHeadKey(name)) continue;
        auto it = targets.find(name);
        if (it == targets.end()) {
            unexpected.push_back(name);
            continue;
        }
        if (it->second.sizes() != tensor.sizes()) {
            throw ModelError(path, "unknown architecture: " + name + " has shape " +
                                       shapeText(tensor.sizes()) + " but " + arch + " expects " +
                                       shapeText(it->second.sizes()));
        }
        it->second.copy_(tensor);
        seen.insert(name);
    }
    if (!unexpected.empty()) {
        throw ModelError(
            path, "unknown architecture: keys " + listText(unexpected) + " are not in " + arch);
    }
    std::vector<std::string> missing;
    for (const auto& [name, tensor] : targets) {
        const bool optional =
            (name.size() > 19 && name.compare(name.size() - 19, 19, "num_batches_tracked") == 0) ||
            (skipHead && isHeadKey(name));
        if (!seen.count(name) && !optional) missing.push_back(name);
    }
    if (!missing.empty()) {
        throw ModelError(path, "unknown architecture: " + arch + " needs " + listText(missing) +
                                   ", missing from the file");
    }
}

void saveNativeState(NativeNetwork& net, const std::string& path) {
    // A plain dict name -> tensor, pickled as torch.save does (zip: data.pkl + data/N).
    c10::Dict<std::string, at::Tensor> dict;
    for (const auto& item : net.module().named_parameters())
        dict.insert(item.key(), item.value().detach().to(torch::kCPU).contiguous());
    for (const auto& item : net.module().named_buffers())
        dict.insert(item.key(), item.value().detach().to(torch::kCPU).contiguous());
    const std::vector<char> bytes = torch::pickle_save(c10::IValue(dict));
    try {
        writeFileAtomically(path, std::string_view(bytes.data(), bytes.size()));
    } catch (const FileError& e) {
        throw ModelError(path, "cannot write the model file: " + e.reason());
    }
}

std::shared_ptr<NativeNetwork> nativeNetworkOf(ModelBackend& backend) {
    auto* native = dynamic_cast<NativeBackend*>(&backend);
    return native ? native->network() : nullptr;
}

std::unique_ptr<ModelBackend> makeNativeBackend(std::string path,
                                                std::shared_ptr<NativeNetwork> net,
                                                const std::string& device, int inputHeight,
                                                int inputWidth) {
    const torch::Device dev(device);
    for (auto& parameter : net->module().parameters()) parameter.requires_grad_(false);
    net->module().eval();
    net->module().to(dev);
    return std::make_unique<NativeBackend>(std::move(path), std::move(net), dev, inputHeight,
                                           inputWidth);
}

std::unique_ptr<ModelBackend> makeStateDictBackend(const std::string& path, ModelSpec& spec) {
    StateDict state = readStateDict(path);
    // nn.DataParallel saves its wrapped model's keys under "module.".
    const bool wrapped = std::all_of(state.begin(), state.end(), [](const auto& item) {
        return item.first.rfind("module.", 0) == 0;
    });
    if (wrapped) {
        for (auto& item : state) item.first.erase(0, 7);
    }
    const std::string arch = recogniseArchitecture(path, state);
    const std::int64_t outputs = headOutputs(path, state);
    reconcileSpec(path, spec, outputs);
    auto net = makeNativeNetwork(arch, outputs);
    loadNativeState(path, *net, state);
    spec.architecture = arch;
    const std::string device = torch::cuda::is_available() ? "cuda:0" : "cpu";
    return makeNativeBackend(path, std::move(net), device, spec.inputHeight, spec.inputWidth);
}

}  // namespace lucida
