#pragma once
// A TorchScript trunk cut into steps, so that dense mode can crop each step's output to what the
// rest needs and stream from neighbouring tiles (as it does with a native ResNet's blocks). No
// LibTorch types here beyond declarations (pimpl rule).
#include <memory>
#include <vector>

namespace torch::jit {
struct Graph;
}

namespace lucida {

// `graph` (inlined, constants folded; inputs self and the image, one output) cut where a single
// map made there is all that the rest reads of the image, after a convolution or pooling, at
// the last such node before the next convolution: each step is a graph (self, x) -> map, run
// one after the other they compute the graph. The module's attributes and constants are read again
// in each step. One step (a copy of `graph`) where there is no such cut, or where a node has side
// effects.
std::vector<std::shared_ptr<torch::jit::Graph>> splitTrunkGraph(torch::jit::Graph& graph);

}  // namespace lucida
