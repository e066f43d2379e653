// The CAM methods' names (torch-free: the analysis panel lists them before a model is open).
#include "cam/CamMethod.h"

namespace lucida {

std::vector<std::string> camMethodNames() {
    return {"cam",      "gradcam",  "gradcam++", "xgradcam",
            "hirescam", "layercam", "eigencam",  "scorecam"};
}

}  // namespace lucida
