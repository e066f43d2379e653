// What a training run writes and whether an earlier run's outputs are in the way (torch-free:
// the training wizard asks before LibTorch is loaded).
#include "model/ModelSpec.h"
#include "train/Trainer.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

namespace lucida {
namespace {

namespace fs = std::filesystem;

// What a run named `name` writes in `outDir` (both model extensions: which one depends on the
// network, and both share the sidecar).
std::vector<fs::path> outputPaths(const std::string& outDir, const std::string& name) {
    const fs::path dir(outDir);
    return {dir / (name + ".pth"),
            dir / (name + ".pt"),
            sidecarPathFor((dir / (name + ".pth")).string()),
            dir / (name + ".report.json"),
            dir / (name + ".curves.png"),
            dir / (name + ".checkpoint.pt")};
}

}  // namespace

std::vector<std::string> existingTrainingOutputs(const std::string& outDir,
                                                 const std::string& modelName) {
    std::vector<std::string> existing;
    for (const fs::path& p : outputPaths(outDir, modelName)) {
        std::error_code ec;
        if (fs::exists(fs::symlink_status(p, ec))) existing.push_back(p.string());
    }
    return existing;
}

std::string freeModelName(const std::string& outDir, const std::string& modelName) {
    if (existingTrainingOutputs(outDir, modelName).empty()) return modelName;
    std::string stem = modelName;
    int number = 1;
    if (const auto dash = stem.rfind('-');
        dash != std::string::npos && dash + 1 < stem.size() && dash > 0 &&
        stem.size() - dash <= 7 && std::all_of(stem.begin() + dash + 1, stem.end(), [](char c) {
            return c >= '0' && c <= '9';
        })) {
        number = std::stoi(stem.substr(dash + 1));
        stem.resize(dash);
    }
    for (int n = std::max(number, 1) + 1;; ++n) {
        const std::string candidate = stem + "-" + std::to_string(n);
        if (existingTrainingOutputs(outDir, candidate).empty()) return candidate;
    }
}

}  // namespace lucida
