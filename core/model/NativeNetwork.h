#pragma once

#include "model/Model.h"
#include "model/StateDictReader.h"

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace torch {
namespace nn {
class Module;
}
}  // namespace torch

namespace lucida {

// A classifier built natively in LibTorch with torchvision's parameter names (the ResNets) or
// Lucida's own (the small CNN), run as a sequence of steps so that it can be cut at any block
// for CAM: step 0 is the stem, then one step per block, the last step pools and applies `fc`.
class NativeNetwork {
public:
    virtual ~NativeNetwork() = default;
    virtual std::string architecture() const = 0;  // "resnet18" … "resnet152", "smallcnn"
    virtual torch::nn::Module& module() = 0;
    virtual std::size_t stepCount() const = 0;
    // Runs steps [first, last) on x.
    virtual at::Tensor run(const at::Tensor& x, std::size_t first, std::size_t last) = 0;
    // Layers that can be targeted, in module order, with the step whose output each one is and
    // its module type.
    struct Layer {
        std::string name, kind;
        std::size_t step;
    };
    virtual std::vector<Layer> targetLayers() const = 0;
    virtual std::string lastBlock() const = 0;  // the default CAM target
    virtual at::Tensor headWeight() = 0;        // fc.weight [K, C]
    // Replaces fc with a freshly initialised one of `outputs` logits (PyTorch's default init).
    virtual void resetHead(std::int64_t outputs) = 0;
    // Runs steps [first, last) for inference only (eval mode, no autograd): each convolution with
    // its BatchNorm folded in and activations in channels-last order (oneDNN's NHWC kernels). The
    // folded weights are made on the first call and again whenever a parameter or buffer has
    // changed since (training, the randomisation check). Equals run() to ~1e-5 relative; the
    // default is run() itself. Thread-safe.
    virtual at::Tensor runInference(const at::Tensor& x, std::size_t first, std::size_t last);
    // The spatial layers of each step but the last (pooling and fc), in order: dense mode's
    // receptive field and its per-step crops. Empty (the default) where not known.
    virtual std::vector<std::vector<SpatialLayer>> stepGeometry() const;
};

// Whether the engine uses the plain forward (run()) instead of runInference and frozen,
// optimised TorchScript graphs for work that needs no gradient: false unless the environment
// sets LUCIDA_PLAIN_FORWARD=1, or setPlainForward says so (bench/forward_bench measures both).
bool plainForward();
void setPlainForward(bool plain);

// A Conv2d without bias followed by an eval-mode BatchNorm2d as one convolution: weight
// w·γ/√(σ²+ε) (channels-last) and bias β−μ·γ/√(σ²+ε), computed in double precision.
struct FoldedConv;
std::shared_ptr<const FoldedConv> foldConvBatchNorm(torch::nn::Module& conv,
                                                    torch::nn::Module& batchNorm);
// x through the folded convolution (stride and padding of the original).
at::Tensor applyFolded(const FoldedConv& conv, const at::Tensor& x);
// Its parts (QuantisedTrunk quantises them): weight (channels-last), bias, stride, padding.
const at::Tensor& foldedWeight(const FoldedConv& conv);
const at::Tensor& foldedBias(const FoldedConv& conv);
std::vector<std::int64_t> foldedStride(const FoldedConv& conv);
std::vector<std::int64_t> foldedPadding(const FoldedConv& conv);
// A number that changes whenever any parameter or buffer of `module` is modified in place (the
// sum of their version counters) or replaced.
std::int64_t parameterVersion(torch::nn::Module& module);

// Architectures Lucida builds: "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
// "smallcnn". Throws std::invalid_argument for others.
std::shared_ptr<NativeNetwork> makeNativeNetwork(const std::string& architecture,
                                                 std::int64_t outputs);
std::vector<std::string> nativeArchitectures();

// The architecture a state_dict was saved from, recognised from its keys and shapes; throws
// ModelError(path, "unknown architecture: …").
std::string recogniseArchitecture(const std::string& path, const StateDict& state);
// Logits of the state's fc layer; throws ModelError when there is no fc.weight [K, C].
std::int64_t headOutputs(const std::string& path, const StateDict& state);

// Copies the tensors of `state` into the network. Keys and shapes must match exactly
// (num_batches_tracked may be missing); with `skipHead`, fc.* is left as it is.
void loadNativeState(const std::string& path, NativeNetwork& net, const StateDict& state,
                     bool skipHead = false);

// Writes the parameters and buffers as Python's `torch.save(model.state_dict(), path)` does (a
// zip archive Python's torch.load and Lucida's reader open), atomically.
void saveNativeState(NativeNetwork& net, const std::string& path);

// The network behind a backend makeNativeBackend made; null for any other backend.
std::shared_ptr<NativeNetwork> nativeNetworkOf(ModelBackend& backend);

// The explanation backend of a native network (frozen, eval mode, on `device`).
std::unique_ptr<ModelBackend> makeNativeBackend(std::string path,
                                                std::shared_ptr<NativeNetwork> net,
                                                const std::string& device, int inputHeight,
                                                int inputWidth);

}  // namespace lucida
