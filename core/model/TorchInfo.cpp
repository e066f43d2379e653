#include "model/TorchInfo.h"

#include "model/Model.h"

#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/version.h>

#ifdef LUCIDA_TORCH_CUDA
#include <cuda_runtime_api.h>
#endif

#include <string>

namespace lucida {

std::vector<Component> torchComponents() {
    std::string torch = TORCH_VERSION;
#ifdef LUCIDA_TORCH_CUDA
    torch += " (CUDA build)";
#else
    torch += " (CPU build)";
#endif
    std::string device;
    if (torch::cuda::is_available()) {
        device = "CUDA";
#ifdef LUCIDA_TORCH_CUDA
        cudaDeviceProp prop{};
        if (cudaGetDeviceProperties(&prop, 0) == cudaSuccess)
            device += std::string(" 0: ") + prop.name + ", " +
                      std::to_string(prop.totalGlobalMem >> 20) + " MiB";
#endif
        const auto n = torch::cuda::device_count();
        if (n > 1) device += " (" + std::to_string(n) + " devices)";
    } else {
        configureTorchThreads();  // what a model run will use: one thread per core
        device = "CPU, " + std::to_string(at::get_num_threads()) + " intra-op threads";
    }
    return {{"LibTorch", torch}, {"Compute device", device}};
}

}  // namespace lucida
