#pragma once

#include <cstdint>
#include <ostream>
#include <string>

namespace CLI {
class App;
}

namespace lucida::cli {

struct MakeDemoArgs {
    std::string outDir;
    std::uint64_t seed = 20240917;  // demo::kDefaultSeed
    int patchSize = 128;
    int trainPerClass = 400;
    int valPerClass = 100;
    int testPerClass = 100;
    bool slide = true;
    std::int64_t slideWidth = 24576;
    std::int64_t slideHeight = 20480;
};

// Adds `lucida-cli make-demo`, filling `args`.
CLI::App* addMakeDemoCommand(CLI::App& app, MakeDemoArgs& args);

// Writes the synthetic H&E demo data: OUT/patches/… (core/demo/DemoData.h: writeDemoSet) and,
// unless
// --no-slide, OUT/slide/demo-slide.tiff with demo-slide-mask.png and demo-slide.json. Progress on
// `log`. Returns 0; throws std::invalid_argument for bad options (exit 2) and std::runtime_error
// naming the file when writing fails (exit 1).
int runMakeDemo(const MakeDemoArgs& args, std::ostream& log);

}  // namespace lucida::cli
