#pragma once
// Dense mode's receptive field of a TorchScript trunk, read from its graph: what the trunk up to
// the target layer computes is followed op by op from the input (convolutions and poolings grow
// the reach and the stride; element-wise ops, batch norm and channel concatenation keep them;
// branches that join take the larger reach). Anything dense tiles could not reproduce exactly —
// a global pooling inside the trunk (squeeze-and-excitation), normalisation over the map,
// resizing, reshaping, padding ops, strides that differ between the axes, control flow on the
// activations — is refused with the op named. No LibTorch types here (pimpl rule).
#include "model/Model.h"

#include <stdexcept>
#include <vector>

namespace torch::jit {
struct Graph;
}
namespace c10 {
struct IValue;
}

namespace lucida {

// Thrown with the reason dense mode cannot follow the graph.
struct GraphGeometryError : std::domain_error {
    using std::domain_error::domain_error;
};

// The trunk as one step (the graph is not cut into steps): layers whose receptive-field
// arithmetic (dense::receptiveFieldOf) gives the graph output's stride and reach before and after.
// `graph`: inlined, its input 0 the module (`self`), input 1 the image; `self` resolves the
// modules' attributes (convolution weights give the kernels).
std::vector<std::vector<SpatialLayer>> graphTrunkGeometry(const torch::jit::Graph& graph,
                                                          const c10::IValue& self);

}  // namespace lucida
