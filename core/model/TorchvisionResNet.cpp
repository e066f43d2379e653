#include "model/TorchvisionResNet.h"

#include "model/ModelError.h"
#include "model/StateDictReader.h"

#include <torch/cuda.h>
#include <torch/nn.h>

#include <array>
#include <map>
#include <set>
#include <sstream>

namespace lucida {
namespace {

namespace nn = torch::nn;

nn::Conv2d conv(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride,
                std::int64_t padding) {
    return nn::Conv2d(
        nn::Conv2dOptions(in, out, kernel).stride(stride).padding(padding).bias(false));
}

// torchvision's BasicBlock (two 3x3 convolutions) or Bottleneck (1x1, 3x3 with the stride, 1x1
// expanding by 4), with the same submodule names.
struct BlockImpl : nn::Module {
    BlockImpl(std::int64_t inplanes, std::int64_t planes, std::int64_t stride, bool bottleneck)
        : bottleneck(bottleneck) {
        const std::int64_t outplanes = bottleneck ? planes * 4 : planes;
        if (bottleneck) {
            conv1 = register_module("conv1", conv(inplanes, planes, 1, 1, 0));
            bn1 = register_module("bn1", nn::BatchNorm2d(planes));
            conv2 = register_module("conv2", conv(planes, planes, 3, stride, 1));
            bn2 = register_module("bn2", nn::BatchNorm2d(planes));
            conv3 = register_module("conv3", conv(planes, outplanes, 1, 1, 0));
            bn3 = register_module("bn3", nn::BatchNorm2d(outplanes));
        } else {
            conv1 = register_module("conv1", conv(inplanes, planes, 3, stride, 1));
            bn1 = register_module("bn1", nn::BatchNorm2d(planes));
            conv2 = register_module("conv2", conv(planes, planes, 3, 1, 1));
            bn2 = register_module("bn2", nn::BatchNorm2d(planes));
        }
        if (stride != 1 || inplanes != outplanes) {
            downsample = register_module("downsample",
                                         nn::Sequential(conv(inplanes, outplanes, 1, stride, 0),
                                                        nn::BatchNorm2d(outplanes)));
        }
    }

    torch::Tensor forward(const torch::Tensor& x) {
        auto out = torch::relu(bn1(conv1(x)));
        out = bn2(conv2(out));
        if (bottleneck) out = bn3(conv3(torch::relu(out)));
        return torch::relu(out + (downsample ? downsample->forward(x) : x));
    }

    bool bottleneck;
    nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
    nn::BatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
    nn::Sequential downsample{nullptr};
};
TORCH_MODULE(Block);

struct Architecture {
    const char* name;
    bool bottleneck;
    std::array<int, 4> blocks;
};

constexpr Architecture kArchitectures[] = {
    {"resnet18", false, {2, 2, 2, 2}},  {"resnet34", false, {3, 4, 6, 3}},
    {"resnet50", true, {3, 4, 6, 3}},   {"resnet101", true, {3, 4, 23, 3}},
    {"resnet152", true, {3, 8, 36, 3}},
};

struct ResNetImpl : nn::Module {
    ResNetImpl(const Architecture& arch, std::int64_t classes) : arch(arch) {
        conv1 = register_module("conv1", conv(3, 64, 7, 2, 3));
        bn1 = register_module("bn1", nn::BatchNorm2d(64));
        std::int64_t inplanes = 64;
        for (int stage = 0; stage < 4; ++stage) {
            const std::int64_t planes = 64 << stage;
            nn::Sequential layer;
            for (int i = 0; i < arch.blocks[stage]; ++i) {
                const std::int64_t stride = (stage > 0 && i == 0) ? 2 : 1;
                Block block(inplanes, planes, stride, arch.bottleneck);
                inplanes = arch.bottleneck ? planes * 4 : planes;
                layer->push_back(block);
                blocks.push_back(block);
                blockNames.push_back("layer" + std::to_string(stage + 1) + "." + std::to_string(i));
            }
            register_module("layer" + std::to_string(stage + 1), layer);
        }
        fc = register_module("fc", nn::Linear(inplanes, classes));
    }

    // Steps: 0 the stem, 1..B the blocks in order, B+1 pooling and fc. Runs [first, last).
    torch::Tensor run(torch::Tensor x, std::size_t first, std::size_t last) {
        for (std::size_t step = first; step < last; ++step) {
            if (step == 0) {
                x = torch::max_pool2d(torch::relu(bn1(conv1(x))), /*kernel_size=*/3,
                                      /*stride=*/2, /*padding=*/1);
            } else if (step <= blocks.size()) {
                x = blocks[step - 1](x);
            } else {
                x = fc(torch::flatten(torch::adaptive_avg_pool2d(x, {1, 1}), 1));
            }
        }
        return x;
    }
    std::size_t stepCount() const { return blocks.size() + 2; }

    Architecture arch;
    nn::Conv2d conv1{nullptr};
    nn::BatchNorm2d bn1{nullptr};
    nn::Linear fc{nullptr};
    std::vector<Block> blocks;
    std::vector<std::string> blockNames;
};
TORCH_MODULE(ResNet);

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

// Blocks per stage and block type, from keys such as "layer3.5.conv3.weight".
const Architecture& recogniseArchitecture(const std::string& path, const StateDict& state) {
    std::array<int, 4> blocks{};
    bool bottleneck = false;
    for (const auto& [name, tensor] : state) {
        int stage = 0, index = 0, consumed = 0;
        if (std::sscanf(name.c_str(), "layer%d.%d.%n", &stage, &index, &consumed) == 2 &&
            consumed > 0 && stage >= 1 && stage <= 4 && index >= 0 && index < 1000) {
            blocks[stage - 1] = std::max(blocks[stage - 1], index + 1);
            if (name.compare(consumed, 6, "conv3.") == 0) bottleneck = true;
        }
    }
    if (blocks == std::array<int, 4>{}) {
        throw ModelError(path, "unknown architecture: no layer1…layer4 keys, not a ResNet");
    }
    for (const auto& arch : kArchitectures) {
        if (arch.bottleneck == bottleneck && arch.blocks == blocks) return arch;
    }
    std::ostringstream reason;
    reason << "unknown architecture: " << (bottleneck ? "bottleneck" : "basic")
           << " blocks per stage " << blocks[0] << "/" << blocks[1] << "/" << blocks[2] << "/"
           << blocks[3]
           << " match no torchvision ResNet (18: 2/2/2/2, 34 and 50: 3/4/6/3, 101: 3/4/23/3, "
              "152: 3/8/36/3)";
    throw ModelError(path, reason.str());
}

// Copies every tensor of the file into the module; the key sets and shapes must match exactly
// (num_batches_tracked may be absent: files from before PyTorch 0.4.1 lack it).
void loadState(const std::string& path, ResNet& net, const StateDict& state) {
    std::map<std::string, at::Tensor> targets;
    for (const auto& item : net->named_parameters()) targets.emplace(item.key(), item.value());
    for (const auto& item : net->named_buffers()) targets.emplace(item.key(), item.value());
    const std::string arch = net->arch.name;

    std::vector<std::string> unexpected;
    std::set<std::string> seen;
    torch::NoGradGuard noGrad;
    for (const auto& [name, tensor] : state) {
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
        throw ModelError(path, "unknown architecture: keys " + listText(unexpected) +
                                   " are not in torchvision's " + arch);
    }
    std::vector<std::string> missing;
    for (const auto& [name, tensor] : targets) {
        const bool optional =
            name.size() > 19 && name.compare(name.size() - 19, 19, "num_batches_tracked") == 0;
        if (!seen.count(name) && !optional) missing.push_back(name);
    }
    if (!missing.empty()) {
        throw ModelError(path, "unknown architecture: " + arch + " needs " + listText(missing) +
                                   ", missing from the file");
    }
}

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

class TorchvisionResNet final : public ModelBackend {
public:
    TorchvisionResNet(std::string path, ResNet net, torch::Device device, int height, int width)
        : path_(std::move(path)),
          net_(std::move(net)),
          device_(device),
          height_(height),
          width_(width) {
        const auto& names = net_->blockNames;
        for (std::size_t i = 0; i < names.size(); ++i) {
            steps_[names[i]] = i + 1;
            steps_[names[i].substr(0, names[i].find('.'))] = i + 1;  // a stage = its last block
        }
    }

    at::Tensor forward(const at::Tensor& input) override {
        return net_->run(input.to(device_), 0, net_->stepCount());
    }

    at::Tensor head(const at::Tensor& input, const std::string& layer) override {
        const std::size_t step = stepOf(layer);
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
        auto x = net_->run(torch::zeros({1, 3, height_, width_}, device_), 0, 1);
        const auto& names = net_->blockNames;
        std::vector<LayerInfo> blockInfos;
        const std::string kind = net_->arch.bottleneck ? "Bottleneck" : "BasicBlock";
        for (std::size_t i = 0; i < names.size(); ++i) {
            x = net_->run(x, i + 1, i + 2);
            blockInfos.push_back({names[i], kind, x.sizes().vec()});
            const bool lastOfStage =
                i + 1 == names.size() || names[i + 1].substr(0, 6) != names[i].substr(0, 6);
            if (lastOfStage) {
                // The stage first, then its blocks: the order of named_modules().
                layers_.push_back({names[i].substr(0, 6), "Sequential", x.sizes().vec()});
                layers_.insert(layers_.end(), blockInfos.begin(), blockInfos.end());
                blockInfos.clear();
            }
        }
        return layers_;
    }

    at::Tensor linearHeadWeights() override { return net_->fc->weight.detach(); }

private:
    std::size_t stepOf(const std::string& layer) const {
        auto it = steps_.find(layer);
        if (it != steps_.end()) return it->second;
        std::vector<std::string> valid;
        for (int stage = 1; stage <= 4; ++stage) valid.push_back("layer" + std::to_string(stage));
        for (const auto& name : net_->blockNames) valid.push_back(name);
        std::string list;
        for (const auto& name : valid) list += (list.empty() ? "" : ", ") + name;
        throw ModelError(path_, "unknown layer '" + layer + "' for " + net_->arch.name +
                                    "; valid layers: " + list);
    }

    std::string path_;
    ResNet net_;
    torch::Device device_;
    int height_;
    int width_;
    std::map<std::string, std::size_t> steps_;  // layer name -> step whose output it is
    std::vector<LayerInfo> layers_;
};

}  // namespace

std::unique_ptr<ModelBackend> makeTorchvisionResNet(const std::string& path, ModelSpec& spec) {
    StateDict state = readStateDict(path);
    // nn.DataParallel saves its wrapped model's keys under "module.".
    const bool wrapped = std::all_of(state.begin(), state.end(), [](const auto& item) {
        return item.first.rfind("module.", 0) == 0;
    });
    if (wrapped) {
        for (auto& item : state) item.first.erase(0, 7);
    }

    const Architecture& arch = recogniseArchitecture(path, state);
    auto fc = std::find_if(state.begin(), state.end(),
                           [](const auto& item) { return item.first == "fc.weight"; });
    if (fc == state.end() || fc->second.dim() != 2) {
        throw ModelError(path, "unknown architecture: no fc.weight [classes, features]");
    }
    const std::int64_t outputs = fc->second.size(0);
    reconcileSpec(path, spec, outputs);

    ResNet net(arch, outputs);
    loadState(path, net, state);
    for (auto& parameter : net->parameters()) parameter.requires_grad_(false);
    net->eval();
    const torch::Device device =
        torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
    net->to(device);
    spec.architecture = arch.name;
    return std::make_unique<TorchvisionResNet>(path, std::move(net), device, spec.inputHeight,
                                               spec.inputWidth);
}

}  // namespace lucida
