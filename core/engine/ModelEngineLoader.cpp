// Finds and loads the LibTorch plugin (see ModelEngine.h) once, on the first call.
#include "engine/ModelEngine.h"

#include "model/ModelError.h"

#include <dlfcn.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

namespace lucida {
namespace {

namespace fs = std::filesystem;

constexpr const char* kPluginName = "liblucida-torch.so";

// Where to look: only $LUCIDA_TORCH_PLUGIN when set (a chosen plugin, e.g. a CUDA build, never
// silently replaced); else beside the program (the build tree's app/), <prefix>/<libdir>/lucida
// for an installed program in <prefix>/bin, and the build tree's plugin (for test and benchmark
// programs elsewhere in the build tree).
std::vector<std::string> candidatePaths() {
    if (const char* env = std::getenv("LUCIDA_TORCH_PLUGIN"); env && *env) return {env};
    std::vector<std::string> paths;
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        paths.push_back((exe.parent_path() / kPluginName).string());
        paths.push_back(
            (exe.parent_path().parent_path() / LUCIDA_INSTALL_LIBDIR / "lucida" / kPluginName)
                .string());
    }
    paths.push_back(LUCIDA_BUILD_TREE_PLUGIN);
    return paths;
}

ModelEngine* load() {
    std::string reasons;
    for (const std::string& path : candidatePaths()) {
        std::error_code ec;
        if (!fs::exists(path, ec)) {
            reasons += "\n  " + path + ": not found";
            continue;
        }
        // RTLD_LOCAL: LibTorch's symbols stay the plugin's; the plugin is never unloaded.
        void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (!handle)
            throw ModelError(path, std::string("cannot load LibTorch plugin: ") + dlerror());
        auto create = reinterpret_cast<CreateModelEngine>(dlsym(handle, kCreateModelEngineSymbol));
        if (!create)
            throw ModelError(path, std::string("not a Lucida LibTorch plugin: ") + dlerror());
        return create();
    }
    throw ModelError(kPluginName, "LibTorch plugin not found; looked in:" + reasons);
}

std::mutex loadMutex;
std::atomic<ModelEngine*> engine{nullptr};

}  // namespace

ModelEngine& modelEngine() {
    if (ModelEngine* e = engine.load()) return *e;
    std::lock_guard lock(loadMutex);
    if (!engine.load()) engine.store(load());  // a failure is retried on the next call
    return *engine.load();
}

ModelEngine* loadedModelEngine() { return engine.load(); }

}  // namespace lucida
