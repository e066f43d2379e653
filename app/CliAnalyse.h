#pragma once

#include <cstddef>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace lucida {
class Model;
struct AnalysisSettings;
struct ModelSpec;
}  // namespace lucida

namespace lucida::cli {

struct AnalyseArgs {
    std::string slide;
    std::string model;
    std::string method = "gradcam";
    bool eigenSmooth = false;          // --eigen-smooth
    bool augmentSmooth = false;        // --flip-smooth
    std::string classChoice = "auto";  // auto: the positive (last) class; an index or a name
    std::string layer;
    double overlap = 0;
    std::string mode = "dense";      // dense (where it applies, else patch with a note) | patch
    std::string precision = "fp32";  // fp32 | int8 (dense mode's trunk, docs/DENSE.md)
    double minTissue = 0.25;
    bool noTissue = false;
    std::string batch = "auto";  // "auto" (what fits free memory) or N
    std::string fit = "auto";    // auto | whole | patches
    int slice = 1;               // 1-based, of a DICOM series or multi-frame image
    std::string outDir;
    std::string resultsDir;       // where patch results are kept for reuse/resume (default: outDir)
    std::string annotations;      // GeoJSON/ASAP XML: how much of the heat falls inside them
    std::string annotationClass;  // only this class's areas (default: every area)
    // µm per pixel used instead of the file's (a project image's own setting; `batch` only);
    // 0: the file's. Results at a given size are kept apart (cohort/PixelSizeOverride.h).
    double pixelSize = 0;
};

CLI::App* addAnalyseCommand(CLI::App& app, AnalyseArgs& args);
// The model and analysis options of `analyse` (all but the slide and the output places), which
// `batch` shares.
void addAnalysisOptions(CLI::App& cmd, AnalyseArgs& args);
// The analysis settings those options give (`report` finds the stored analysis by them).
AnalysisSettings settingsFromArgs(const AnalyseArgs& args, const ModelSpec& spec);
// The same options as command-line words (for a job script that repeats them).
std::vector<std::string> analysisOptionWords(const AnalyseArgs& args);

// What analysing one slide into its outputs gave.
struct SlideRun {
    std::string jsonPath;      // "<out>/<stem>.analysis.json"
    bool complete = false;     // every patch done (false: cancelled)
    std::size_t patches = 0;   // planned (tissue) patches
    std::size_t inferred = 0;  // patches the model ran on in this run (the rest were stored)
    double seconds = 0;
    double score = 0;  // the explained class's top-k mean probability (summarise)
    std::string className;
    std::vector<std::string> classes;
    bool hasRegion = false;  // a top region exists
    double regionX = 0, regionY = 0, regionW = 0, regionH = 0, regionProbability = 0;
};

// `analyse`'s work on args.slide with an opened model: progress and notes on `log`, outputs into
// args.outDir (per-patch results in args.resultsDir, default the same). With `keepOutputs`,
// outputs that already hold this complete analysis (same key) are not written again.
SlideRun analyseSlideToOutputs(const AnalyseArgs& args, const Model& model,
                               const std::function<bool()>& cancelled, std::ostream& log,
                               bool keepOutputs = false);

// `lucida-cli analyse`: every tissue patch, with progress on stderr; writes
// <slide>.probability.tiff, <slide>.cam.tiff and <slide>.analysis.json into the output folder.
// Ctrl+C stops after the current batch (the run resumes next time). Returns 0, or 1 when
// cancelled.
int runAnalyse(const AnalyseArgs& args);

}  // namespace lucida::cli
