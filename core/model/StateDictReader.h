#pragma once

#include <string>
#include <utility>
#include <vector>

namespace at {
class Tensor;
}

namespace lucida {

// Tensors by name, in the file's order.
using StateDict = std::vector<std::pair<std::string, at::Tensor>>;

// Reads what Python's `torch.save(model.state_dict(), path)` wrote: the zip format (torch >= 1.6)
// or the legacy one (a stream of pickles followed by the raw storages). A checkpoint dict holding
// the state_dict under "state_dict", "model_state_dict" or "model" is accepted too. Tensors are on
// the CPU. Throws ModelError(path, reason): not a PyTorch file, truncated, not a state_dict, a
// limit of the hostile-file checks hit (StateDictLayout.h: the file is read and checked without
// LibTorch before any tensor is allocated).
//
// LibTorch's own unpickler (torch::pickle_load) cannot read it: it turns every
// collections.OrderedDict into None and fails on the BUILD that sets the state_dict's `_metadata`,
// so this reader carries its own small unpickler for the subset of pickle a state_dict uses.
StateDict readStateDict(const std::string& path);

}  // namespace lucida
