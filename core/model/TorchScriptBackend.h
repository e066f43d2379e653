#pragma once

#include "model/Model.h"

#include <memory>
#include <string>

namespace lucida {

// A TorchScript module (traced or scripted) as a ModelBackend. The target layer's activation is
// exposed by rewriting copies of the forward graph, with no help from the exporter: the "head"
// graph returns the layer's output, the "tail" graph takes it as an extra input in place of the
// layer's call (what came before is removed as dead code).
std::unique_ptr<ModelBackend> makeTorchScriptBackend(const std::string& path,
                                                     const std::string& device);

}  // namespace lucida

namespace lucida {
// Candidate layers (modules at depth 1 and 2 that forward calls) with output shapes for `probe`.
std::vector<LayerInfo> torchScriptLayers(ModelBackend& backend, const at::Tensor& probe);
// The last top-level module that forward calls whose output for `probe` is a spatial map (4-D,
// both sides > 1), as torchScriptLayers would rank it, found from the last module backwards: a
// few cuts instead of one per candidate (seconds, not a minute, for a ResNet-50). Empty: none.
std::string torchScriptDefaultLayer(ModelBackend& backend, const at::Tensor& probe);

// Whether a TorchScript backend runs its frozen, optimised forward now (tests, benchmarks); not a
// TorchScript backend: false.
struct TorchScriptOptimised {
    bool forward = false;
};
TorchScriptOptimised torchScriptOptimised(ModelBackend& backend);
}  // namespace lucida
