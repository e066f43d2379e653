// Dense mode against patch mode, in one run (issue 16): whole-slide analyseSlide end to end on
// fresh results folders for patch mode (overlap none, 50 %) and dense mode, as tissue area per
// second (mm²/s: the analysed patches' grid cells × µm/px²) and patches per second; then the
// forward-only speed of the engine against channels-last on the same model (batch 16).
// Usage: dense_bench SLIDE (MODEL | resnet18 | smallcnn) [--rounds 1] [--forward-only]
//        [--dense-only] [--dense-tile PX] [--trunk-sizes] [--no-forward] [--int8]
// --int8: dense mode's trunk in int8 (AnalysisSettings::int8; the run is named "dense-int8").
// LUCIDA_DENSE_NO_CROP=1 runs dense mode's trunk whole over each tile (the baseline of the crops).
// resnet18/smallcnn: a native network with seeded random weights, declared for 0.5 µm/px.
#include "analysis/SlideAnalysis.h"
#include "cam/DenseCam.h"
#include "image/ImageSource.h"
#include "model/Model.h"
#include "model/ModelSpec.h"
#include "model/NativeNetwork.h"

#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

using namespace lucida;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

double seconds(Clock::time_point since) {
    return std::chrono::duration<double>(Clock::now() - since).count();
}

std::string randomModel(const std::string& arch, const fs::path& dir) {
    torch::manual_seed(3);
    auto net = makeNativeNetwork(arch, 2);
    const std::string path = (dir / (arch + ".pth")).string();
    saveNativeState(*net, path);
    ModelSpec spec;
    spec.architecture = arch;
    spec.classes = {"normal", "tumour"};
    spec.inputWidth = spec.inputHeight = arch == "smallcnn" ? 128 : 224;
    spec.micronsPerPixel = 0.5;
    writeModelSpec(spec, sidecarPathFor(path));
    return path;
}

void wholeSlide(const ImageSource& source, const Model& model, const char* name, AnalysisMode mode,
                double overlap, const fs::path& dir, int round, int denseTile, bool int8 = false) {
    AnalysisSettings s;
    s.int8 = int8;
    s.denseTile = denseTile;
    s.mode = mode;
    s.overlap = overlap;
    s.batchSize = 16;
    const fs::path results = dir / ("results-" + std::string(name) + std::to_string(round));
    const auto start = Clock::now();
    const SlideAnalysis a = analyseSlide(source, model, s, results.string());
    const double t = seconds(start);
    const double mpp = source.info().mppX.value_or(0.25);
    const double cellMm = a.grid.stride * mpp / 1000.0;
    const double area = double(a.grid.patches.size()) * cellMm * cellMm;
    // Patches of the non-overlapping grid the same area holds: comparable across overlaps.
    const double patchMm = a.grid.patchSize * mpp / 1000.0;
    std::printf(
        "  {\"mode\": \"%s\", \"dense\": %s, \"int8\": %s, \"patches\": %zu, \"seconds\": %.2f, "
        "\"mm2\": %.3f, \"mm2_per_s\": %.4f, \"equivalent_patches_per_s\": %.2f}%s\n",
        name, a.settings.mode == AnalysisMode::Dense ? "true" : "false",
        a.settings.int8 ? "true" : "false", a.grid.patches.size(), t, area, area / t,
        area / (patchMm * patchMm) / t, ",");
    for (const auto& n : a.notices) std::fprintf(stderr, "note: %s\n", n.c_str());
    std::fflush(stdout);
}

// Images per second of a native network's forward, batch 16, after a warm-up, and the output for
// a fixed batch. `channelsLast` converts the 4-D weights and the input to NHWC first (oneDNN's
// preferred layout on the CPU).
std::pair<double, at::Tensor> forwardRate(NativeNetwork& net, int side, bool channelsLast,
                                          int rounds) {
    torch::NoGradGuard noGrad;
    net.module().eval();
    if (channelsLast)
        for (auto& p : net.module().parameters())
            if (p.dim() == 4) p.set_data(p.contiguous(at::MemoryFormat::ChannelsLast));
    torch::manual_seed(1);
    at::Tensor x = torch::randn({16, 3, side, side});
    if (channelsLast) x = x.contiguous(at::MemoryFormat::ChannelsLast);
    at::Tensor out = net.run(x, 0, net.stepCount());
    const auto start = Clock::now();
    for (int i = 0; i < rounds; ++i) net.run(x, 0, net.stepCount());
    return {16.0 * rounds / seconds(start), out.contiguous()};
}

// The trunk's speed per input pixel for square tiles of growing side (model pixels per second,
// one warm-up): how large a tile may get before cache misses cost more than halos save.
void trunkRates(const Model& model, const std::string& layer) {
    const DenseCam dense(model, layer, "cam", 1);
    std::printf(" \"trunk_mpx_per_s\": {");
    for (int side : {512, 1024, 2048, 3072}) {
        torch::manual_seed(1);
        const at::Tensor x = torch::randn({1, 3, side, side});
        FloatTensor input({1, 3, side, side});
        std::memcpy(input.data.data(), x.data_ptr<float>(), input.data.size() * sizeof(float));
        dense.features(input);
        const auto start = Clock::now();
        dense.features(input);
        std::printf("%s\"%d\": %.3f", side == 512 ? "" : ", ", side,
                    double(side) * side / 1e6 / seconds(start));
        std::fflush(stdout);
    }
    std::printf("},\n");
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(
            stderr,
            "usage: dense_bench SLIDE (MODEL|resnet18|smallcnn) [--rounds N] [--forward-only]\n"
            "       [--dense-only] [--dense-tile PX] [--trunk-sizes] [--no-forward] [--int8]\n");
        return 2;
    }
    int rounds = 1;
    bool forwardOnly = false, denseOnly = false, trunkSizes = false, noForward = false;
    bool int8 = false;
    int denseTile = 0;
    for (int i = 3; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--rounds") && i + 1 < argc) rounds = std::atoi(argv[++i]);
        if (!std::strcmp(argv[i], "--forward-only")) forwardOnly = true;
        if (!std::strcmp(argv[i], "--dense-tile") && i + 1 < argc) denseTile = std::atoi(argv[++i]);
        if (!std::strcmp(argv[i], "--dense-only")) denseOnly = true;
        if (!std::strcmp(argv[i], "--trunk-sizes")) trunkSizes = true;
        if (!std::strcmp(argv[i], "--no-forward")) noForward = true;
        if (!std::strcmp(argv[i], "--int8")) int8 = true;
    }
    configureTorchThreads();
    const fs::path dir = fs::temp_directory_path() / ("dense_bench-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    std::string modelPath = argv[2];
    if (modelPath == "resnet18" || modelPath == "smallcnn") modelPath = randomModel(modelPath, dir);
    auto model = Model::open(modelPath);
    std::printf("{\"model\": \"%s\", \"threads\": %d, \"whole_slide\": [\n",
                model->spec().architecture.c_str(), at::get_num_threads());
    if (!forwardOnly) {
        auto source = openImage(argv[1]);
        for (int r = 0; r < rounds; ++r) {
            if (!denseOnly) {
                wholeSlide(*source, *model, "patch-none", AnalysisMode::Patch, 0, dir, r, 0);
                wholeSlide(*source, *model, "patch-50", AnalysisMode::Patch, 0.5, dir, r, 0);
            }
            wholeSlide(*source, *model, int8 ? "dense-int8" : "dense", AnalysisMode::Dense, 0, dir,
                       r, denseTile, int8);
        }
    }
    if (trunkSizes)
        trunkRates(*model, model->spec().architecture == "smallcnn" ? "block4" : "layer4");
    if (noForward) {
        std::printf("  {}]}\n");
        fs::remove_all(dir);
        return 0;
    }
    const std::string arch = model->spec().architecture;
    const int side = model->spec().inputWidth;
    torch::manual_seed(3);
    auto net = makeNativeNetwork(arch, 2);
    const auto [engine, reference] = forwardRate(*net, side, false, 8);
    const auto [cl, fast] = forwardRate(*net, side, true, 8);
    const double diff =
        (fast - reference).abs().max().item<double>() / reference.abs().max().item<double>();
    std::printf(
        "  {}],\n \"forward_images_per_s\": {\"engine\": %.2f, \"channels_last\": %.2f, "
        "\"channels_last_relative_difference\": %.2g}}\n",
        engine, cl, diff);
    fs::remove_all(dir);
    return 0;
}
