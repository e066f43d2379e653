// --eigen-smooth and --flip-smooth: registered by every build of lucida-cli (the option
// parser is torch-free; the smoothing itself runs in the LibTorch plugin).
#include <CLI/CLI.hpp>

#include "CliExplain.h"

namespace lucida::cli {

void addSmoothingFlags(CLI::App& cmd, bool& eigenSmooth, bool& flipSmooth) {
    cmd.add_flag("--eigen-smooth", eigenSmooth,
                 "smooth the map: the first principal component of the method's channel terms "
                 "instead of their sum (pytorch-grad-cam's eigen_smooth, sign kept with the map)");
    cmd.add_flag("--flip-smooth", flipSmooth,
                 "smooth the map: the mean of the maps of the image and its three flips, each "
                 "flipped back (4 x the time)");
}

}  // namespace lucida::cli
