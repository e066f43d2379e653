#include "VersionInfo.h"

#include "engine/ModelEngine.h"
#include "version/Versions.h"

#include <QtGlobal>

namespace lucida::ui {

std::string viewerVersionReport(bool loadLibTorch) {
    std::vector<Component> components = libraryVersions();
    for (Component& c : components)
        if (c.name == "Qt") c.version = qVersion();  // the Qt actually loaded
#ifdef LUCIDA_WITH_TORCH
    try {
        ModelEngine* engine = loadLibTorch ? &modelEngine() : loadedModelEngine();
        if (engine)
            for (Component& c : engine->components()) components.push_back(std::move(c));
        else
            components.push_back({"LibTorch", "(loaded with the first model)"});
    } catch (const std::exception& e) {
        components.push_back({"LibTorch", std::string("(cannot be loaded: ") + e.what() + ")"});
    }
#else
    components.push_back({"LibTorch", "(not built in)"});
#endif
    return versionReport("lucida", components);
}

}  // namespace lucida::ui
