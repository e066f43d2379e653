#pragma once

#include <optional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace lucida::cli {

struct ExplainArgs {
    std::string model;
    std::string method = "gradcam";
    std::string classChoice = "auto";  // "auto" or an index or a class name
    std::string layer;
    std::string norm = "image";  // "image" (per-image min-max) or "shared" (one scale for all)
    std::string colourMap = "jet";
    float opacity = 0.5f;
    std::string batch = "auto";      // "auto" (chooseBatchSize: what fits free memory) or N
    std::string precision = "fp32";  // fp32, fp16 (CUDA only), bf16
    bool eigenSmooth = false;        // --eigen-smooth (ExplainOptions)
    bool augmentSmooth = false;      // --flip-smooth
    std::vector<std::string> images;
    std::string outDir;
};

// `lucida-cli explain`: per image NAME (its file name), NAME.overlay.png, NAME.cam.tiff (raw
// float32 map at the layer's resolution) and NAME.json. Returns the exit code (0 all done, 1 some
// inputs failed).
int runExplain(const ExplainArgs& args);

// --eigen-smooth and --flip-smooth (ExplainOptions), for `explain` and `analyse`.
void addSmoothingFlags(CLI::App& cmd, bool& eigenSmooth, bool& flipSmooth);

// `lucida-cli layers --model M`: candidate target layers with output shapes.
int runLayers(const std::string& model);

// `lucida-cli info MODEL`: what Lucida reads from a model and its sidecar.
int runModelInfo(const std::string& model, bool json);

}  // namespace lucida::cli
