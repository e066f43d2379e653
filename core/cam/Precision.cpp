// Precision names (torch-free: the command line checks them before LibTorch is loaded).
#include "cam/Explainer.h"

#include <stdexcept>

namespace lucida {

Precision precisionFromName(const std::string& name) {
    if (name == "fp32" || name == "float32") return Precision::Float32;
    if (name == "fp16" || name == "float16") return Precision::Float16;
    if (name == "bf16" || name == "bfloat16") return Precision::BFloat16;
    throw std::invalid_argument("unknown precision '" + name + "' (known: fp32, fp16, bf16)");
}

std::string precisionName(Precision precision) {
    switch (precision) {
        case Precision::Float16:
            return "fp16";
        case Precision::BFloat16:
            return "bf16";
        case Precision::Float32:
            break;
    }
    return "fp32";
}

}  // namespace lucida
