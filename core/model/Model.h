#pragma once

#include "model/FloatTensor.h"
#include "model/ModelSpec.h"

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace at {
class Tensor;
}

namespace lucida {

struct LayerInfo {
    std::string name;  // dotted module path, e.g. "layer4" or "layer4.1.conv2"
    std::string kind;  // module type, e.g. "Conv2d", "Sequential", "BasicBlock"
    std::vector<std::int64_t> outputShape;  // for one input of the model's size
};

// One convolution or pooling of a trunk (square kernel, same along both axes): what dense mode's
// receptive-field arithmetic needs.
struct SpatialLayer {
    int kernel = 1, stride = 1, padding = 0;
};
// Applied to each step's output while a trunk runs (dense mode's tiles keep only the cells the
// remaining steps need): (step index, output) -> what the next step runs on.
using StepCrop = std::function<at::Tensor(std::size_t step, const at::Tensor& output)>;

// The part of a model the CAM code talks to (LibTorch types, declared only). Implemented for
// TorchScript modules (graph split at the target layer) and native torchvision ResNets.
class ModelBackend {
public:
    virtual ~ModelBackend() = default;
    virtual at::Tensor forward(const at::Tensor& input) = 0;  // logits [N, K]
    // The input up to the target layer's output, without autograd.
    virtual at::Tensor head(const at::Tensor& input, const std::string& layer) = 0;
    // From the target layer's output to the logits; autograd flows from the logits to `activation`
    // only (parameters are frozen). `input` is passed for graphs that still read it.
    virtual at::Tensor tail(const at::Tensor& input, const at::Tensor& activation,
                            const std::string& layer) = 0;
    virtual std::vector<LayerInfo> layers() = 0;
    // Weights of the final linear layer [K, C] when the model ends in global-average-pool + linear
    // (what CAM needs); an undefined tensor otherwise.
    virtual at::Tensor linearHeadWeights() = 0;
    // Every parameter by dotted name, in module order, sharing the model's storage: the
    // model-randomisation check (core/checks/Randomisation.h) overwrites them in its own copy.
    virtual std::vector<std::pair<std::string, at::Tensor>> namedParameters() = 0;
    // The spatial layers of each step of the trunk up to `layer`'s output, one list per step in
    // order (branches joining inside a step, such as a ResNet's downsample, reach no further than
    // its main path). TorchScript: one step, read from the graph (GraphGeometryError, a
    // std::domain_error, names an op dense mode cannot follow). Empty where not known.
    virtual std::vector<std::vector<SpatialLayer>> trunkGeometry(const std::string& layer);
    // head() with `crop` applied to each step of trunkGeometry's output before the next step runs
    // (on the same fast path as head). Throws std::logic_error where trunkGeometry is empty.
    virtual at::Tensor headCropped(const at::Tensor& input, const std::string& layer,
                                   const StepCrop& crop);
};

// A classifier Lucida can run and explain: TorchScript (traced or scripted) with a JSON sidecar,
// or a torchvision ResNet state_dict (.pth). Runs on CUDA when LibTorch has it, else on the CPU
// with one intra-op thread per core.
class Model {
public:
    // Throws ModelError naming the file: not a model, unknown architecture, head/sidecar mismatch,
    // fails on the declared input shape, non-finite outputs.
    // In the LibTorch plugin only: programs open models through modelEngine()
    // (engine/ModelEngine.h), which loads LibTorch the first time; every member is virtual so that
    // they need no symbol of it.
    static std::unique_ptr<Model> open(const std::string& path);
    virtual ~Model();

    virtual const std::string& path() const;
    virtual const ModelSpec& spec() const;
    virtual std::string device() const;  // "cpu" or "cuda:0"
    virtual std::vector<LayerInfo> layers() const;
    // The spec's, else the last convolutional block.
    virtual std::string defaultTargetLayer() const;

    // Logits [N, K] for a normalised batch [N, 3, H, W].
    virtual FloatTensor logits(const FloatTensor& batch) const;
    // Probabilities per class, from logits, following spec().output.
    virtual std::vector<std::vector<float>> probabilities(const FloatTensor& logits) const;

    virtual ModelBackend& backend() const;

private:
    Model();
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Sets LibTorch's intra-op threads to the number of cores (Debian's build starts with one).
void configureTorchThreads();

}  // namespace lucida
