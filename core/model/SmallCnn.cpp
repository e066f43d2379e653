// Lucida's small CNN for small datasets (MRI slices, skin photos, demo patches): four
// conv-BN-ReLU blocks (16, 32, 64, 128 channels), 2x2 max pooling between them, global average
// pooling and one linear layer.
// The last block keeps 1/8 of the input resolution, a finer CAM grid than a ResNet's 1/32.
// tests/reference/small_cnn.py is the same network in PyTorch.
#include "model/NativeNetwork.h"

#include <torch/nn.h>

#include <mutex>

namespace lucida {
namespace {

namespace nn = torch::nn;

constexpr std::int64_t kChannels[] = {3, 16, 32, 64, 128};
constexpr std::size_t kBlocks = 4;

struct SmallCnnImpl : nn::Module {
    explicit SmallCnnImpl(std::int64_t outputs) {
        for (std::size_t i = 0; i < kBlocks; ++i) {
            blocks.push_back(register_module(
                "block" + std::to_string(i + 1),
                nn::Sequential(nn::Conv2d(nn::Conv2dOptions(kChannels[i], kChannels[i + 1], 3)
                                              .padding(1)
                                              .bias(false)),
                               nn::BatchNorm2d(kChannels[i + 1]), nn::ReLU())));
        }
        fc = register_module("fc", nn::Linear(kChannels[kBlocks], outputs));
    }

    // Step i < 4 runs block i+1 (pooling its input first from the second block on); step 4 pools
    // globally and applies fc.
    torch::Tensor run(torch::Tensor x, std::size_t first, std::size_t last) {
        for (std::size_t step = first; step < last; ++step) {
            if (step < kBlocks) {
                if (step > 0) x = torch::max_pool2d(x, 2);
                x = blocks[step]->forward(x);
            } else {
                x = fc(torch::flatten(torch::adaptive_avg_pool2d(x, {1, 1}), 1));
            }
        }
        return x;
    }

    std::vector<nn::Sequential> blocks;
    nn::Linear fc{nullptr};
};
TORCH_MODULE(SmallCnn);

// The blocks' convolutions with their BatchNorms folded in, for inference.
struct FoldedSmallCnn {
    std::vector<std::shared_ptr<const FoldedConv>> convs;
    std::int64_t version = 0;
};

class SmallCnnNetwork final : public NativeNetwork {
public:
    explicit SmallCnnNetwork(std::int64_t outputs) : net_(outputs) {}

    std::string architecture() const override { return "smallcnn"; }
    torch::nn::Module& module() override { return *net_; }
    std::size_t stepCount() const override { return kBlocks + 1; }
    at::Tensor run(const at::Tensor& x, std::size_t first, std::size_t last) override {
        return net_->run(x, first, last);
    }
    std::vector<Layer> targetLayers() const override {
        std::vector<Layer> layers;
        for (std::size_t i = 0; i < kBlocks; ++i)
            layers.push_back({"block" + std::to_string(i + 1), "Sequential", i});
        return layers;
    }
    std::string lastBlock() const override { return "block4"; }
    std::vector<std::vector<SpatialLayer>> stepGeometry() const override {
        std::vector<std::vector<SpatialLayer>> steps{{{3, 1, 1}}};  // block1's 3x3 convolution
        for (std::size_t i = 1; i < kBlocks; ++i) steps.push_back({{2, 2, 0}, {3, 1, 1}});
        return steps;
    }
    at::Tensor headWeight() override { return net_->fc->weight; }
    void resetHead(std::int64_t outputs) override {
        net_->fc = net_->replace_module("fc", nn::Linear(kChannels[kBlocks], outputs));
    }

    at::Tensor runInference(const at::Tensor& x, std::size_t first, std::size_t last) override {
        torch::NoGradGuard noGrad;
        const auto f = folded();
        at::Tensor y = x.dim() == 4 ? x.contiguous(at::MemoryFormat::ChannelsLast) : x;
        for (std::size_t step = first; step < last; ++step) {
            if (step < kBlocks) {
                if (step > 0) y = torch::max_pool2d(y, 2);
                y = applyFolded(*f->convs[step], y).relu_();
            } else {
                y = net_->fc(torch::flatten(torch::adaptive_avg_pool2d(y, {1, 1}), 1));
            }
        }
        return y;
    }

private:
    std::shared_ptr<const FoldedSmallCnn> folded() {
        const std::int64_t version = parameterVersion(*net_);
        std::lock_guard lock(foldMutex_);
        if (!folded_ || folded_->version != version) {
            auto f = std::make_shared<FoldedSmallCnn>();
            f->version = version;
            for (auto& block : net_->blocks)
                f->convs.push_back(foldConvBatchNorm(*block[0], *block[1]));
            folded_ = std::move(f);
        }
        return folded_;
    }

    SmallCnn net_;
    std::mutex foldMutex_;
    std::shared_ptr<const FoldedSmallCnn> folded_;
};

}  // namespace

std::shared_ptr<NativeNetwork> makeSmallCnnNetwork(std::int64_t outputs) {
    return std::make_shared<SmallCnnNetwork>(outputs);
}

}  // namespace lucida
