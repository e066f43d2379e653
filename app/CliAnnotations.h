#pragma once

#include <optional>
#include <ostream>
#include <string>

namespace CLI {
class App;
}

namespace lucida {
struct FloatRaster;
struct ImageInfo;
}  // namespace lucida

namespace lucida::cli {

struct AnnotationsArgs {
    std::string input, output;
    std::string image;          // stats: take the pixel size from this image
    std::optional<double> mpp;  // stats: µm per pixel, when no image is given
    bool objects = false;       // stats: one row per object instead of per class
};

struct AnnotationsCommands {
    CLI::App* convert = nullptr;
    CLI::App* stats = nullptr;
};

// Adds `lucida-cli annotations convert IN OUT` and `lucida-cli annotations stats IN`.
AnnotationsCommands addAnnotationsCommand(CLI::App& app, AnnotationsArgs& args);

// GeoJSON <-> ASAP XML by the files' extensions; what the target format cannot hold is said on
// `log`. Returns 0.
int runAnnotationsConvert(const AnnotationsArgs& args, std::ostream& log);
// CSV on `out`: per class "class,objects,area,length,unit" (or per object with --objects).
int runAnnotationsStats(const AnnotationsArgs& args, std::ostream& out, std::ostream& log);

// `lucida-cli analyse --annotations`: the energy-based pointing game of `cam` against the areas
// of `className` (every area when empty) in `annotationsPath`, written as JSON to `jsonPath`
// and summarised on `log`.
void writeAnnotationHeat(const std::string& annotationsPath, const std::string& className,
                         const ImageInfo& image, const FloatRaster& cam,
                         const std::string& jsonPath, std::ostream& log);

}  // namespace lucida::cli
