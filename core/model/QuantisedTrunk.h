#pragma once

#include "model/Model.h"  // StepCrop

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace at {
class Tensor;
}

namespace lucida {

class NativeNetwork;

// How calibration turns the activations it sees into a range per layer.
enum class RangeObserver {
    MinMax,      // the smallest and largest value seen
    Percentile,  // the 0.01th and 99.99th percentile of each calibration input, widest kept
};

// The quantised engine LibTorch offers here, preferred first: "onednn" (x86), else "qnnpack";
// empty when neither (int8 is then refused).
std::string quantisedEngine();

// A native network's trunk (steps [0, last) of NativeNetwork::runInference: the stem and blocks
// up to a target layer) in int8 for forward-only work: the BatchNorm-folded convolutions with
// per-channel symmetric int8 weights, activations as per-tensor uint8 whose scales and zero
// points come from calibration on the image's own inputs; quantised convolution (+ReLU), max
// pooling and add+ReLU (residuals) through LibTorch's quantised operators; the result is
// dequantised to float (the head stays fp32). ResNets 18–152 and the small CNN.
// Use: calibrate() on a few inputs, finish(), then run(). Not thread-safe while calibrating.
class QuantisedTrunk {
public:
    // Throws std::invalid_argument when the architecture is not a native ResNet or small CNN, or
    // LibTorch has no quantised engine here.
    QuantisedTrunk(std::shared_ptr<NativeNetwork> net, std::size_t last,
                   RangeObserver observer = RangeObserver::Percentile);
    ~QuantisedTrunk();
    QuantisedTrunk(const QuantisedTrunk&) = delete;
    QuantisedTrunk& operator=(const QuantisedTrunk&) = delete;

    // Observes the float trunk's activations on a normalised input [N, 3, H, W].
    void calibrate(const at::Tensor& input);
    std::size_t calibrationInputs() const;
    // Quantises the weights and fixes every activation's scale; throws std::logic_error when
    // nothing was calibrated.
    void finish();
    bool ready() const;

    // The trunk's output [N, C, h, w] in float, computed in int8 (after finish()).
    at::Tensor run(const at::Tensor& input) const;
    // run() with `crop` applied to each step's quantised output before the next step (the steps
    // of NativeNetwork::run and stepGeometry: a ResNet's stem, then one per block; the small
    // CNN's blocks, each with the max pooling before it), as ModelBackend::headCropped does.
    at::Tensor run(const at::Tensor& input, const StepCrop& crop) const;
    // The same, and in `saturated` the largest share, over the input and each quantised output,
    // of values at the ends of its range (the top; also the bottom where the range is signed):
    // activations beyond what calibration saw (and its headroom) are clipped there.
    at::Tensor run(const at::Tensor& input, const StepCrop& crop, double* saturated) const;
    // The same steps in float (what calibration observes; equals runInference).
    at::Tensor runFloat(const at::Tensor& input) const;
    std::string engine() const;
    // How many convolutions oneDNN has refused to run in int8 for some input size so far (they
    // run in float from that size on; see largeInputsRun in tests/core/int8_trunk_test.cpp).
    std::size_t floatConvolutions() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// The share of a quantised (quint8) tensor's values at the ends of its range: 255, and 0 where
// the zero point is above 0 (run()'s `saturated`, per output). Any layout; one pass over bytes.
double rangeEndShare(const at::Tensor& quantised);

// torch::quantile's value at q in [0, 1] of n values (linear between the two nearest ranks), from
// the nearer end's ranks only (calibration's percentiles).
double quantileOf(const float* values, std::size_t n, double q);

// Why int8 cannot run this model (empty when it can): not a native .pth ResNet or small CNN, not
// on the CPU, or no quantised engine.
std::string int8Refusal(const Model& model);

// The int8 trunk of a native .pth model up to `layer`, calibrated on `inputs` (normalised
// [1, 3, h, w] pieces of the image itself: dense mode's first tiles). Throws std::invalid_argument
// naming why int8 does not apply (TorchScript, an unknown layer, no quantised engine, a GPU).
std::shared_ptr<const QuantisedTrunk> calibratedTrunk(const Model& model, const std::string& layer,
                                                      const std::vector<FloatTensor>& inputs);

}  // namespace lucida
