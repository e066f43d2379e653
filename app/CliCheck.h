#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace lucida::cli {

struct CheckArgs {
    std::string model;
    std::string method = "gradcam";
    std::string classChoice = "auto";  // auto (predicted), an index or a class name
    std::string layer;
    std::string removal = "blur";  // faithfulness: blur | mean | road
    bool road = false;             // --road: removal road
    int steps = 32;                // faithfulness curve points after the first
    int stages = 0;                // randomisation stages (0: every block)
    std::uint64_t seed = 1;
    std::vector<std::string> images;
    std::string outDir;
};

CLI::App* addCheckCommand(CLI::App& app, CheckArgs& args);

// `lucida-cli check`: per image NAME, the cascading model-randomisation check and the
// deletion/insertion faithfulness curves of the map: NAME.check.json (verdict, stages, AUCs,
// curves), NAME.randomisation.csv and NAME.faithfulness.csv. The verdict is printed. Returns 0,
// or 1 when some images failed.
int runCheck(const CheckArgs& args);

}  // namespace lucida::cli
