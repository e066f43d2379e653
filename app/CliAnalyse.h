#pragma once

#include <string>

namespace CLI {
class App;
}

namespace lucida::cli {

struct AnalyseArgs {
    std::string slide;
    std::string model;
    std::string method = "gradcam";
    std::string classChoice = "auto";  // auto: the positive (last) class; an index or a name
    std::string layer;
    double overlap = 0;
    double minTissue = 0.25;
    bool noTissue = false;
    std::string batch = "auto";  // "auto" (what fits free memory) or N
    std::string fit = "auto";    // auto | whole | patches
    int slice = 1;               // 1-based, of a DICOM series or multi-frame image
    std::string outDir;
    std::string resultsDir;       // where patch results are kept for reuse/resume (default: outDir)
    std::string annotations;      // GeoJSON/ASAP XML: how much of the heat falls inside them
    std::string annotationClass;  // only this class's areas (default: every area)
};

CLI::App* addAnalyseCommand(CLI::App& app, AnalyseArgs& args);

// `lucida-cli analyse`: every tissue patch, with progress on stderr; writes
// <slide>.probability.tiff, <slide>.cam.tiff and <slide>.analysis.json into the output folder.
// Ctrl+C stops after the current batch (the run resumes next time). Returns 0, or 1 when
// cancelled.
int runAnalyse(const AnalyseArgs& args);

}  // namespace lucida::cli
