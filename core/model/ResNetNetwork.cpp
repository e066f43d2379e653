// torchvision's ResNets as native LibTorch modules with torchvision's parameter names.
#include "model/NativeNetwork.h"

#include <torch/nn.h>

#include <array>
#include <mutex>

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
        // torchvision's initialisation, so that training from scratch starts where Python's does.
        for (auto& m : modules(/*include_self=*/false)) {
            if (auto* c = m->as<nn::Conv2d>()) {
                nn::init::kaiming_normal_(c->weight, 0.0, torch::kFanOut, torch::kReLU);
            } else if (auto* b = m->as<nn::BatchNorm2d>()) {
                nn::init::ones_(b->weight);
                nn::init::zeros_(b->bias);
            }
        }
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

    Architecture arch;
    nn::Conv2d conv1{nullptr};
    nn::BatchNorm2d bn1{nullptr};
    nn::Linear fc{nullptr};
    std::vector<Block> blocks;
    std::vector<std::string> blockNames;
};
TORCH_MODULE(ResNet);

// The convolutions of a ResNet with their BatchNorms folded in, for inference.
struct FoldedResNet {
    struct FoldedBlock {
        std::shared_ptr<const FoldedConv> conv1, conv2, conv3, downsample;
    };
    std::shared_ptr<const FoldedConv> stem;
    std::vector<FoldedBlock> blocks;
    std::int64_t version = 0;
};

std::shared_ptr<const FoldedResNet> foldResNet(ResNetImpl& net, std::int64_t version) {
    auto folded = std::make_shared<FoldedResNet>();
    folded->version = version;
    folded->stem = foldConvBatchNorm(*net.conv1, *net.bn1);
    for (auto& block : net.blocks) {
        FoldedResNet::FoldedBlock f;
        f.conv1 = foldConvBatchNorm(*block->conv1, *block->bn1);
        f.conv2 = foldConvBatchNorm(*block->conv2, *block->bn2);
        if (block->bottleneck) f.conv3 = foldConvBatchNorm(*block->conv3, *block->bn3);
        if (block->downsample)
            f.downsample = foldConvBatchNorm(*block->downsample[0], *block->downsample[1]);
        folded->blocks.push_back(std::move(f));
    }
    return folded;
}

// run() with the folded convolutions, channels-last, activations updated in place.
torch::Tensor runFolded(ResNetImpl& net, const FoldedResNet& folded, torch::Tensor x,
                        std::size_t first, std::size_t last) {
    if (x.dim() == 4) x = x.contiguous(at::MemoryFormat::ChannelsLast);
    for (std::size_t step = first; step < last; ++step) {
        if (step == 0) {
            x = torch::max_pool2d(applyFolded(*folded.stem, x).relu_(), 3, 2, 1);
        } else if (step <= folded.blocks.size()) {
            const auto& b = folded.blocks[step - 1];
            auto out = applyFolded(*b.conv2, applyFolded(*b.conv1, x).relu_());
            if (b.conv3) out = applyFolded(*b.conv3, out.relu_());
            x = out.add_(b.downsample ? applyFolded(*b.downsample, x) : x).relu_();
        } else {
            x = net.fc(torch::flatten(torch::adaptive_avg_pool2d(x, {1, 1}), 1));
        }
    }
    return x;
}

class ResNetNetwork final : public NativeNetwork {
public:
    ResNetNetwork(const Architecture& arch, std::int64_t outputs) : net_(arch, outputs) {}

    std::string architecture() const override { return net_->arch.name; }
    torch::nn::Module& module() override { return *net_; }
    std::size_t stepCount() const override { return net_->blocks.size() + 2; }
    at::Tensor run(const at::Tensor& x, std::size_t first, std::size_t last) override {
        return net_->run(x, first, last);
    }
    std::vector<Layer> targetLayers() const override {
        std::vector<Layer> layers;
        const auto& names = net_->blockNames;
        const std::string kind = net_->arch.bottleneck ? "Bottleneck" : "BasicBlock";
        for (std::size_t i = 0; i < names.size();) {
            // The stage first (its output is its last block's), then its blocks: the order of
            // named_modules().
            const std::string stage = names[i].substr(0, names[i].find('.'));
            std::size_t end = i;
            while (end < names.size() && names[end].rfind(stage + ".", 0) == 0) ++end;
            layers.push_back({stage, "Sequential", end});
            for (; i < end; ++i) layers.push_back({names[i], kind, i + 1});
        }
        return layers;
    }
    std::string lastBlock() const override { return "layer4"; }
    std::vector<std::vector<SpatialLayer>> stepGeometry() const override {
        // The stem (7x7 stride-2 convolution, 3x3 stride-2 max pooling), then each block's main
        // path; its downsample (1x1, the block's stride) reads a subset of what that path reads.
        std::vector<std::vector<SpatialLayer>> steps{{{7, 2, 3}, {3, 2, 1}}};
        for (std::size_t i = 0; i < net_->blocks.size(); ++i) {
            const Block& b = net_->blocks[i];
            const auto& strided = b->bottleneck ? b->conv2 : b->conv1;
            const int stride = static_cast<int>(strided->options.stride()->at(0));
            if (b->bottleneck)
                steps.push_back({{1, 1, 0}, {3, stride, 1}, {1, 1, 0}});
            else
                steps.push_back({{3, stride, 1}, {3, 1, 1}});
        }
        return steps;
    }
    at::Tensor headWeight() override { return net_->fc->weight; }
    void resetHead(std::int64_t outputs) override {
        net_->fc = net_->replace_module("fc", nn::Linear(net_->fc->weight.size(1), outputs));
    }

    at::Tensor runInference(const at::Tensor& x, std::size_t first, std::size_t last) override {
        torch::NoGradGuard noGrad;
        return runFolded(*net_, *folded(), x, first, last);
    }

private:
    std::shared_ptr<const FoldedResNet> folded() {
        const std::int64_t version = parameterVersion(*net_);
        std::lock_guard lock(foldMutex_);
        if (!folded_ || folded_->version != version) folded_ = foldResNet(*net_, version);
        return folded_;
    }

    ResNet net_;
    std::mutex foldMutex_;
    std::shared_ptr<const FoldedResNet> folded_;
};

}  // namespace

std::shared_ptr<NativeNetwork> makeResNetNetwork(const std::string& architecture,
                                                 std::int64_t outputs) {
    for (const auto& arch : kArchitectures) {
        if (architecture == arch.name) return std::make_shared<ResNetNetwork>(arch, outputs);
    }
    return nullptr;
}

// Blocks per stage and block type, from keys such as "layer3.5.conv3.weight"; empty when the keys
// are not a ResNet's. `detail` says which ResNet the counts would need.
std::string recogniseResNet(const StateDict& state, std::string& detail) {
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
    if (blocks == std::array<int, 4>{}) return {};
    for (const auto& arch : kArchitectures) {
        if (arch.bottleneck == bottleneck && arch.blocks == blocks) return arch.name;
    }
    detail = std::string(bottleneck ? "bottleneck" : "basic") + " blocks per stage " +
             std::to_string(blocks[0]) + "/" + std::to_string(blocks[1]) + "/" +
             std::to_string(blocks[2]) + "/" + std::to_string(blocks[3]) +
             " match no torchvision ResNet (18: 2/2/2/2, 34 and 50: 3/4/6/3, 101: 3/4/23/3, "
             "152: 3/8/36/3)";
    return {};
}

}  // namespace lucida
