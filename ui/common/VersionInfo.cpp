#include "VersionInfo.h"

#include "version/Versions.h"
#ifdef LUCIDA_WITH_TORCH
#include "model/TorchInfo.h"
#endif

#include <QtGlobal>

namespace lucida::ui {

std::string viewerVersionReport() {
    std::vector<Component> components = libraryVersions();
    for (Component& c : components)
        if (c.name == "Qt") c.version = qVersion();  // the Qt actually loaded
#ifdef LUCIDA_WITH_TORCH
    for (Component& c : torchComponents()) components.push_back(std::move(c));
#else
    components.push_back({"LibTorch", "(not built in)"});
#endif
    return versionReport("lucida", components);
}

}  // namespace lucida::ui
