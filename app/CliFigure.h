#pragma once

#include <optional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace lucida::cli {

struct FigureArgs {
    std::string image;
    std::string out;     // the format by its extension: .png .tif .jpg .svg .pdf
    std::string region;  // "x,y,w,h" in level-0 pixels; empty: the whole image
    bool whole = false;  // --whole: the default, said explicitly
    std::optional<int> widthPx;
    std::optional<double> widthMm;
    int dpi = 300;
    std::string analysis;  // <slide>.analysis.json of `lucida-cli analyse`: its heat
    std::string heatLayer = "cam";
    std::string colours = "jet";
    double opacity = 0.5;
    double threshold = 0;
    bool compare = false;  // image | heat, side by side
    // Comparison of one region under several methods (--compare-methods) or classes
    // (--compare-classes): each panel's heat computed for the region with --model (stored results
    // in --results reused).
    std::string compareMethods, compareClasses;
    std::string model;
    std::string method = "gradcam";    // for --compare-classes
    std::string classChoice = "auto";  // for --compare-methods: a name or index
    std::string results;               // default: <image>.lucida, as the viewer keeps them
    std::string layer, fit = "auto";
    double overlap = 0;
    bool noTissue = false;
    bool withImage = false;  // an image-only panel first
    std::string annotations;
    bool noAnnotations = false, noScaleBar = false, noColourBar = false, noCaption = false;
    bool overview = false;
    bool measurements = false;  // areas and lengths beside the annotations' labels
    std::optional<std::string> caption;
    std::vector<std::string> place;  // "item=x,y": an item's top-left as fractions of the figure
    bool includePatientDetails = false;
    int slice = 1;
};

CLI::App* addFigureCommand(CLI::App& app, FigureArgs& args);

// `lucida-cli figure`: renders the figure off-screen and writes it atomically. Returns 0.
int runFigure(const FigureArgs& args);

}  // namespace lucida::cli
