#pragma once
// LibTorch's part of the version report: its version and the compute device Lucida will use.
#include "version/Versions.h"

#include <vector>

namespace lucida {

// {"LibTorch", "1.13.0 (CPU)"} and {"Compute device", "CPU, 2 threads"} or the CUDA device.
std::vector<Component> torchComponents();

}  // namespace lucida
