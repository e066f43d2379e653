#pragma once

#include "model/Model.h"
#include "model/ModelSpec.h"

#include <memory>
#include <string>

namespace lucida {

// A model saved as a state_dict (`torch.save(model.state_dict(), path)`): a torchvision ResNet
// (18, 34, 50, 101 or 152; any head size) or Lucida's small CNN, rebuilt natively with the same
// parameter names. The architecture is recognised from the keys and shapes and written to
// spec.architecture. Missing class names are filled in ("class 0" …) with a notice; a head that
// does not match the sidecar's classes is an error. Target layers: a ResNet's "layer1" …
// "layer4" and their blocks "layer4.0" …; the small CNN's "block1" … "block4". Parameters are
// frozen and the model is in eval mode; it runs on CUDA when LibTorch has it.
// Throws ModelError(path, reason): unreadable file, "unknown architecture: …", head/sidecar
// mismatch.
std::unique_ptr<ModelBackend> makeStateDictBackend(const std::string& path, ModelSpec& spec);

}  // namespace lucida
