// Forward-only images/s of the engine (issue 16): the plain path (LUCIDA_PLAIN_FORWARD=1, what
// the engine did before) against the fast one (BatchNorm folded, channels-last, InferenceMode for
// native networks; frozen and optimised graphs for TorchScript) on the same model in one run, and
// the largest relative difference of their logits. Also the trunk up to the default target layer
// (what CAM methods run without autograd).
// Usage: forward_bench [--batch 16] [--rounds 8] (MODEL | resnet18 | smallcnn)...
// resnet18/smallcnn: native networks with seeded random weights and BatchNorm statistics.
// Prints one JSON line per model and path. Run it holding the build lock (docs/PERFORMANCE.md).
#include "model/Model.h"
#include "model/NativeNetwork.h"

#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

using namespace lucida;

namespace {

using Clock = std::chrono::steady_clock;

double seconds(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

struct Subject {
    std::string name, layer;
    int side = 224;
    std::unique_ptr<Model> model;          // a file
    std::unique_ptr<ModelBackend> native;  // a named architecture
    ModelBackend& backend() { return model ? model->backend() : *native; }
};

Subject open(const std::string& what) {
    Subject s;
    s.name = what;
    if (what == "resnet18" || what == "smallcnn") {
        torch::manual_seed(1);
        auto net = makeNativeNetwork(what, 2);
        torch::NoGradGuard noGrad;
        for (auto& m : net->module().modules())
            if (auto* bn = m->as<torch::nn::BatchNorm2d>()) {
                bn->running_mean.uniform_(-0.5, 0.5);
                bn->running_var.uniform_(0.5, 2.0);
            }
        s.side = what == "resnet18" ? 224 : 128;
        s.layer = net->lastBlock();
        s.native = makeNativeBackend(what, std::move(net), "cpu", s.side, s.side);
        return s;
    }
    s.model = Model::open(what);
    s.side = s.model->spec().inputHeight;
    s.layer = s.model->defaultTargetLayer();
    return s;
}

// Images/s of `call` on `x` after two warm-up calls (TorchScript optimises on the second), and
// the last timed call's output.
std::pair<double, at::Tensor> rate(const std::function<at::Tensor()>& call, int batch, int rounds) {
    call();
    call();
    at::Tensor out;
    const auto start = Clock::now();
    for (int i = 0; i < rounds; ++i) out = call();
    return {double(batch) * rounds / seconds(start), out.contiguous()};
}

double relativeDifference(const at::Tensor& a, const at::Tensor& b) {
    return (a - b).abs().max().item<double>() / std::max(b.abs().max().item<double>(), 1e-12);
}

void measure(Subject& s, int batch, int rounds) {
    torch::manual_seed(2);
    const at::Tensor x = torch::randn({batch, 3, s.side, s.side});
    ModelBackend& backend = s.backend();
    for (const char* part : {"forward", "trunk"}) {
        const bool trunk = !std::strcmp(part, "trunk");
        auto call = [&] { return trunk ? backend.head(x, s.layer) : backend.forward(x); };
        setPlainForward(true);
        const auto [plainRate, plainOut] = rate(call, batch, rounds);
        setPlainForward(false);
        const auto [fastRate, fastOut] = rate(call, batch, rounds);
        std::printf(
            "{\"model\": \"%s\", \"part\": \"%s\", \"layer\": \"%s\", \"batch\": %d, "
            "\"threads\": %d, \"plain_images_per_s\": %.2f, \"fast_images_per_s\": %.2f, "
            "\"speedup\": %.2f, \"max_relative_difference\": %.2e}\n",
            s.name.c_str(), part, trunk ? s.layer.c_str() : "", batch, at::get_num_threads(),
            plainRate, fastRate, fastRate / plainRate, relativeDifference(fastOut, plainOut));
        std::fflush(stdout);
    }
}

}  // namespace

int main(int argc, char** argv) {
    int batch = 16, rounds = 8;
    std::vector<std::string> models;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--batch") && i + 1 < argc) {
            batch = std::atoi(argv[++i]);
        } else if (!std::strcmp(argv[i], "--rounds") && i + 1 < argc) {
            rounds = std::atoi(argv[++i]);
        } else {
            models.emplace_back(argv[i]);
        }
    }
    if (models.empty() || batch < 1 || rounds < 1) {
        std::fprintf(
            stderr,
            "usage: forward_bench [--batch 16] [--rounds 8] (MODEL|resnet18|smallcnn)...\n");
        return 2;
    }
    configureTorchThreads();
    for (const auto& name : models) {
        try {
            Subject s = open(name);
            measure(s, batch, rounds);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "%s: %s\n", name.c_str(), e.what());
            return 1;
        }
    }
    return 0;
}
