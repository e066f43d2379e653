// Dense mode against patch mode, in one run (issue 16): whole-slide analyseSlide end to end on
// fresh results folders for patch mode (overlap none, 50 %) and dense mode, as tissue area per
// second (mm²/s: the analysed patches' grid cells × µm/px²) and patches per second; then the
// forward-only speed of the engine against channels-last on the same model (batch 16).
// Usage: dense_bench SLIDE (MODEL | resnet18 | smallcnn) [--rounds 1] [--forward-only]
//        [--dense-only] [--dense-tile PX] [--trunk-sizes] [--no-forward] [--int8]
// --int8: dense mode again with its trunk in int8 (AnalysisSettings::int8), named "dense-int8";
// the first round prints its agreement with fp32 dense mode (CAM r, probability differences).
// LUCIDA_DENSE_NO_CROP=1 runs dense mode's trunk whole over each tile (the baseline of the crops);
// LUCIDA_DENSE_NO_STREAM=1 gives every tile its whole halo (the baseline of streaming).
// resnet18/smallcnn: a native network with seeded random weights, declared for 0.5 µm/px.
#include "analysis/SlideAnalysis.h"
#include "cam/DenseCam.h"
#include "image/ImageSource.h"
#include "model/Model.h"
#include "model/ModelSpec.h"
#include "model/NativeNetwork.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

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

SlideAnalysis wholeSlide(const ImageSource& source, const Model& model, const char* name,
                         AnalysisMode mode, double overlap, const fs::path& dir, int round,
                         int denseTile, bool int8 = false) {
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
        "\"mm2\": %.3f, \"mm2_per_s\": %.4f, \"equivalent_patches_per_s\": %.2f",
        name, a.settings.mode == AnalysisMode::Dense ? "true" : "false",
        a.settings.int8 ? "true" : "false", a.grid.patches.size(), t, area, area / t,
        area / (patchMm * patchMm) / t);
    if (a.dense.tiles > 0)
        std::printf(
            ", \"tiles\": %zu, \"streamed_tiles\": %zu, \"streamed_down\": %zu, \"mpx_read\": "
            "%.2f, "
            "\"wait_s\": %.2f, \"trunk_s\": %.2f, \"outcome_s\": %.2f",
            a.dense.tiles, a.dense.streamedTiles, a.dense.streamedDown, a.dense.pixelsRead / 1e6,
            a.dense.waitSeconds, a.dense.trunkSeconds, a.dense.outcomeSeconds);
    if (a.dense.tiles > 0) std::printf(", \"kept_mib\": %.1f", a.dense.keptBytes / 1048576.0);
    if (!a.dense.stepPixels.empty()) {
        std::printf(", \"step_mpx\": [");
        for (std::size_t k = 0; k < a.dense.stepPixels.size(); ++k)
            std::printf("%s%.2f", k ? ", " : "", a.dense.stepPixels[k] / 1e6);
        std::printf("]");
    }
    std::printf("},\n");
    for (const auto& n : a.notices) std::fprintf(stderr, "note: %s\n", n.c_str());
    std::fflush(stdout);
    return a;
}

// Pixels the exact receptive field makes dense mode compute, per trunk step, against the patches'
// own pixels (all that patch mode without overlap computes): step k's outputs are needed wherever
// a window's pixel is within the reach of the steps after k, so even with every pixel computed
// once (no tile halo at all) the trunk covers the tissue grown by that reach. Counted on an 8-px
// mask of the grid's area; the steps weighted equally (a ResNet's blocks cost about the same
// each, the stem about half). Its inverse is the most dense mode can gain over patch mode
// without overlap at equal speed per pixel.
void receptiveFieldBound(const Model& model, const std::string& layer, const SlideAnalysis& a) {
    const std::vector<DenseStepReach> steps = denseStepReach(model, layer);
    if (steps.empty() || a.grid.patches.empty()) return;
    constexpr int kCell = 8;
    const int step = static_cast<int>(std::lround(a.grid.stride / a.grid.downsample));
    const int window = model.spec().inputWidth;
    const int w = ((a.grid.columns - 1) * step + window + kCell - 1) / kCell;
    const int h = ((a.grid.rows - 1) * step + window + kCell - 1) / kCell;
    std::vector<char> mask(std::size_t(w) * h, 0);
    for (const Patch& p : a.grid.patches)
        for (int y = p.row * step / kCell; y < std::min(h, (p.row * step + window) / kCell); ++y)
            std::fill_n(&mask[std::size_t(y) * w + p.column * step / kCell],
                        std::min(w - p.column * step / kCell, window / kCell), 1);
    const double own = double(std::count(mask.begin(), mask.end(), 1));
    // Cells at most `lo` after or `hi` before a window cell, along one axis at a time.
    const auto grow = [&](const std::vector<char>& in, int lo, int hi, bool rows) {
        std::vector<char> out(in.size(), 0);
        const int n = rows ? w : h, lines = rows ? h : w;
        for (int line = 0; line < lines; ++line) {
            const auto at = [&](int i) -> std::size_t {
                return rows ? std::size_t(line) * w + i : std::size_t(i) * w + line;
            };
            int last = -1 << 20;  // the last window cell seen, scanning forwards
            for (int i = 0; i < n; ++i) {
                if (in[at(i)]) last = i;
                if (i - last <= lo) out[at(i)] = 1;
            }
            last = 1 << 20;
            for (int i = n - 1; i >= 0; --i) {
                if (in[at(i)]) last = i;
                if (last - i <= hi) out[at(i)] = 1;
            }
        }
        return out;
    };
    std::printf("  {\"receptive_field_bound\": {\"steps\": [");
    double sum = 0;
    for (std::size_t k = 0; k < steps.size(); ++k) {
        // A cell at q needs step k's outputs in [q − before, q + after].
        const int rb = (steps[k].before + kCell - 1) / kCell;
        const int ra = (steps[k].after + kCell - 1) / kCell;
        const auto grown = grow(grow(mask, ra, rb, true), ra, rb, false);
        const double ratio = double(std::count(grown.begin(), grown.end(), 1)) / own;
        sum += ratio;
        std::printf("%s%.3f", k ? ", " : "", ratio);
    }
    const double mean = sum / double(steps.size());
    std::printf("], \"mean\": %.3f, \"max_dense_vs_patch_none\": %.3f}},\n", mean, 1 / mean);
    std::fflush(stdout);
}

// int8 dense mode against fp32 dense mode on the same slide: Pearson r of every patch's CAM
// cells, and the explained class's probability difference per patch (median, largest, patches
// on the other side of 0.5).
void int8Agreement(const SlideAnalysis& fp32, const SlideAnalysis& int8) {
    std::vector<double> camA, camB, diffs;
    int sides = 0;
    const std::size_t cls = std::size_t(std::max(0, fp32.explainedClass));
    for (std::size_t i = 0; i < fp32.outcomes.size() && i < int8.outcomes.size(); ++i) {
        const PatchOutcome &a = fp32.outcomes[i], &b = int8.outcomes[i];
        if (!a.done || !b.done || a.cam.size() != b.cam.size()) continue;
        camA.insert(camA.end(), a.cam.begin(), a.cam.end());
        camB.insert(camB.end(), b.cam.begin(), b.cam.end());
        if (cls < a.probabilities.size() && cls < b.probabilities.size()) {
            diffs.push_back(std::abs(double(a.probabilities[cls]) - b.probabilities[cls]));
            sides += (a.probabilities[cls] >= 0.5f) != (b.probabilities[cls] >= 0.5f);
        }
    }
    if (camA.empty() || diffs.empty()) return;
    const auto mean = [](const std::vector<double>& v) {
        double sum = 0;
        for (double x : v) sum += x;
        return sum / double(v.size());
    };
    const double ma = mean(camA), mb = mean(camB);
    double sab = 0, saa = 0, sbb = 0;
    for (std::size_t i = 0; i < camA.size(); ++i) {
        sab += (camA[i] - ma) * (camB[i] - mb);
        saa += (camA[i] - ma) * (camA[i] - ma);
        sbb += (camB[i] - mb) * (camB[i] - mb);
    }
    std::sort(diffs.begin(), diffs.end());
    std::printf(
        "  {\"int8_agreement\": {\"patches\": %zu, \"cam_r\": %.5f, "
        "\"probability_diff_median\": %.5f, \"probability_diff_max\": %.5f, "
        "\"other_side_of_half\": %d}},\n",
        diffs.size(), sab / std::sqrt(std::max(saa * sbb, 1e-300)), diffs[diffs.size() / 2],
        diffs.back(), sides);
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
    for (int side : {512, 1024, 1536, 2048, 3072}) {
        torch::manual_seed(1);
        const at::Tensor x = torch::randn({1, 3, side, side});
        FloatTensor input({1, 3, side, side});
        std::memcpy(input.data.data(), x.data_ptr<float>(), input.data.size() * sizeof(float));
        // The path whole-slide runs take: the trunk in cropped steps (each in sub-tiles).
        const DenseRect all{0, 0, side, side};
        const DenseReader read = [&](const DenseRect&) { return input; };
        dense.features(read, all, all);
        const auto start = Clock::now();
        dense.features(read, all, all);
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
            const SlideAnalysis a =
                wholeSlide(*source, *model, "dense", AnalysisMode::Dense, 0, dir, r, denseTile);
            if (r == 0) receptiveFieldBound(*model, a.layer, a);
            if (int8) {
                const SlideAnalysis b = wholeSlide(*source, *model, "dense-int8",
                                                   AnalysisMode::Dense, 0, dir, r, denseTile, true);
                if (r == 0) int8Agreement(a, b);
            }
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
