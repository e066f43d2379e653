// Images/s for forward-only and for each CAM method, for the models named on the command line,
// at their input size, one batch size, measured in one run (ratios to forward-only on the same
// machine state). Usage: cam_bench [--batch 16] [--iterations 3] [--scorecam-images 1] MODEL...
#include "cam/CamMethod.h"
#include "cam/Explainer.h"
#include "model/Model.h"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace lucida;

namespace {

double secondsPer(int iterations, const std::function<void()>& run) {
    run();  // warm-up: graph executor profiling, allocator
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < iterations; ++i) run();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() /
           iterations;
}

FloatTensor randomBatch(int n, const ModelSpec& spec) {
    FloatTensor t({n, 3, spec.inputHeight, spec.inputWidth});
    std::mt19937 rng(1);
    std::normal_distribution<float> normal;
    for (float& v : t.data) v = normal(rng);
    return t;
}

}  // namespace

int main(int argc, char** argv) {
    int batch = 16, iterations = 3, scoreImages = 1;
    std::vector<std::string> models;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--batch" && i + 1 < argc)
            batch = std::stoi(argv[++i]);
        else if (a == "--iterations" && i + 1 < argc)
            iterations = std::stoi(argv[++i]);
        else if (a == "--scorecam-images" && i + 1 < argc)
            scoreImages = std::stoi(argv[++i]);
        else
            models.push_back(a);
    }
    if (models.empty()) {
        std::fprintf(
            stderr,
            "usage: cam_bench [--batch N] [--iterations N] [--scorecam-images N] MODEL...\n");
        return 2;
    }
    configureTorchThreads();
    std::printf(
        "| model | device | batch | method | images/s | time / forward-only "
        "|\n|---|---|---|---|---|---|\n");
    for (const std::string& path : models) {
        const auto model = Model::open(path);
        const FloatTensor input = randomBatch(batch, model->spec());
        const double forward = secondsPer(iterations, [&] { model->logits(input); });
        const auto name = path.substr(path.find_last_of('/') + 1);
        std::printf("| %s | %s | %d | forward only | %.1f | 1.00 |\n", name.c_str(),
                    model->device().c_str(), batch, batch / forward);
        std::fflush(stdout);
        for (const std::string& method : camMethodNames()) {
            ExplainOptions options;
            options.method = method;
            const bool score = method == "scorecam";
            const FloatTensor in = score ? randomBatch(scoreImages, model->spec()) : input;
            const int n = score ? scoreImages : batch;
            const double t =
                secondsPer(score ? 1 : iterations, [&] { explain(*model, in, options); });
            std::printf("| %s | %s | %d | %s | %.2f | %.2f |\n", name.c_str(),
                        model->device().c_str(), n, method.c_str(), n / t,
                        (t / n) / (forward / batch));
            std::fflush(stdout);
        }
    }
    return 0;
}
