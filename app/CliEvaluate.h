#pragma once

#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace lucida::cli {

struct EvaluateArgs {
    std::string model;
    std::string data;   // one sub-folder per class, named as the model's classes
    std::string masks;  // optional: <masks>/<class>/<image name> lesion masks (non-zero inside)
    std::vector<std::string> methods{"gradcam"};  // pointing games for each, in one run
    std::string json;                             // optional report path
    int batchSize = 32;
};

CLI::App* addEvaluateCommand(CLI::App& app, EvaluateArgs& args);

// `lucida-cli evaluate`: accuracy, per-class precision/recall/F1 and ROC-AUC of a model on a
// labelled folder, and with --masks the pointing game: the share of images with a non-empty mask
// whose CAM peak (for their true class, upsampled to the image) lies inside the mask, and the
// energy pointing game, for each of the methods given (--method gradcam,gradcam++,scorecam).
int runEvaluate(const EvaluateArgs& args);

}  // namespace lucida::cli
