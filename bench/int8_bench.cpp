// int8 against fp32 (issue 16) in one run: forward-only images/s of the fp32 fast path
// (NativeNetwork::runInference: folded BatchNorm, channels-last) and of the int8 trunk
// (QuantisedTrunk, onednn) with the fp32 head, on ResNet-18 (seeded random weights, non-trivial
// BatchNorm) and the small CNN or a model file, and their agreement on the timed batch (features
// and CAM Pearson r, largest logit difference).
// Usage: int8_bench [--batch 16] [--rounds 6] [--threads 2] [--side PX]
//                   (resnet18 | smallcnn | MODEL.pth)...
// --side: the input's side (default the model's input; large sides are dense mode's tiles).
// Prints one JSON line per model. Run it holding the build lock (docs/PERFORMANCE.md).
#include "model/Model.h"
#include "model/NativeNetwork.h"
#include "model/QuantisedTrunk.h"

#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>

using namespace lucida;

namespace {

using Clock = std::chrono::steady_clock;

double pearson(const at::Tensor& a, const at::Tensor& b) {
    const at::Tensor x = a.flatten().to(torch::kFloat64), y = b.flatten().to(torch::kFloat64);
    const at::Tensor dx = x - x.mean(), dy = y - y.mean();
    return ((dx * dy).sum() / (dx.norm() * dy.norm()).clamp_min(1e-30)).item<double>();
}

// Images/s of `run` over `rounds` batches of `batch` (after one warm-up round).
double imagesPerSecond(const std::function<void()>& run, int batch, int rounds) {
    run();
    const auto start = Clock::now();
    for (int i = 0; i < rounds; ++i) run();
    return batch * rounds / std::chrono::duration<double>(Clock::now() - start).count();
}

// Smooth random structure plus noise, as int8_trunk_test uses.
at::Tensor imageLike(std::int64_t n, std::int64_t side) {
    const at::Tensor coarse = torch::randn({n, 3, side / 16, side / 16});
    return torch::upsample_bilinear2d(coarse, {side, side}, false) * 1.2 +
           0.3 * torch::randn({n, 3, side, side});
}

void bench(const std::string& what, int batch, int rounds, std::int64_t sideSetting) {
    torch::manual_seed(1);
    std::unique_ptr<Model> model;
    std::shared_ptr<NativeNetwork> net;
    std::int64_t side = 224;
    if (what == "resnet18" || what == "smallcnn") {
        net = makeNativeNetwork(what, 2);
        net->module().eval();
        torch::NoGradGuard noGrad;
        for (auto& m : net->module().modules())
            if (auto* bn = m->as<torch::nn::BatchNorm2d>()) {
                bn->running_mean.uniform_(-0.5, 0.5);
                bn->running_var.uniform_(0.5, 2.0);
            }
        side = what == "resnet18" ? 224 : 128;
    } else {
        model = Model::open(what);
        net = nativeNetworkOf(model->backend());
        side = model->spec().inputHeight;
        if (!net) throw std::invalid_argument(what + ": not a native .pth network");
    }
    if (sideSetting > 0) side = sideSetting;
    const std::size_t last = net->stepCount() - 1;  // the trunk: every step but pooling + fc
    const auto calibrationStart = Clock::now();
    QuantisedTrunk trunk(net, last);
    for (int i = 0; i < 2; ++i) trunk.calibrate(imageLike(batch, side));
    trunk.finish();
    const double calibration =
        std::chrono::duration<double>(Clock::now() - calibrationStart).count();
    const at::Tensor x = imageLike(batch, side).contiguous(at::MemoryFormat::ChannelsLast);
    at::Tensor f32, f8, l32, l8;
    c10::InferenceMode inference;
    const double fp32 =
        imagesPerSecond([&] { l32 = net->runInference(x, 0, net->stepCount()); }, batch, rounds);
    const double int8 = imagesPerSecond(
        [&] { l8 = net->runInference(trunk.run(x), last, net->stepCount()); }, batch, rounds);
    f32 = net->runInference(x, 0, last);
    f8 = trunk.run(x);
    const at::Tensor w = net->headWeight().detach();
    const auto cam = [&](const at::Tensor& f) {
        return torch::einsum("c,nchw->nhw", {w[w.size(0) - 1], f.contiguous()});
    };
    std::printf(
        "{\"model\": \"%s\", \"batch\": %d, \"side\": %lld, \"threads\": %d, "
        "\"engine\": \"%s\", \"fp32_images_per_s\": %.2f, \"int8_images_per_s\": %.2f, "
        "\"speedup\": %.2f, \"calibration_s\": %.2f, \"features_r\": %.5f, "
        "\"cam_r\": %.5f, \"max_logit_diff\": %.4f, \"fp32_logit_span\": %.4f, "
        "\"float_convolutions\": %zu}\n",
        what.c_str(), batch, static_cast<long long>(side), torch::get_num_threads(),
        trunk.engine().c_str(), fp32, int8, int8 / fp32, calibration, pearson(f8, f32),
        pearson(cam(f8), cam(f32)), (l8 - l32).abs().max().item<double>(),
        (l32.max() - l32.min()).item<double>(), trunk.floatConvolutions());
    std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
    int batch = 16, rounds = 6, threads = 2;
    std::int64_t side = 0;
    std::vector<std::string> subjects;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--batch" && i + 1 < argc)
            batch = std::atoi(argv[++i]);
        else if (arg == "--rounds" && i + 1 < argc)
            rounds = std::atoi(argv[++i]);
        else if (arg == "--side" && i + 1 < argc)
            side = std::atoll(argv[++i]);
        else if (arg == "--threads" && i + 1 < argc)
            threads = std::atoi(argv[++i]);
        else
            subjects.push_back(arg);
    }
    if (subjects.empty()) subjects = {"resnet18", "smallcnn"};
    torch::set_num_threads(threads);
    try {
        for (const auto& s : subjects) bench(s, batch, rounds, side);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "int8_bench: %s\n", e.what());
        return 1;
    }
    return 0;
}
