// Whole-slide analysis throughput against the engine alone, in one run: (1) the model + CAM
// method on batches already in memory (the ceiling), (2) decoding alone (the patch reads and
// preprocessing analyseSlide does, on its thread pool), (3) analyseSlide end to end on a fresh
// results folder (decoding overlapped with inference). Prints JSON.
// Usage: analysis_bench SLIDE MODEL [--method gradcam] [--batch 16] [--limit N]
#include "analysis/SlideAnalysis.h"
#include "cam/Explainer.h"
#include "image/ImageSource.h"
#include "model/Model.h"
#include "model/Preprocess.h"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <thread>

using namespace lucida;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: analysis_bench SLIDE MODEL [--method M] [--batch N]\n");
        return 2;
    }
    const std::string slidePath = argv[1], modelPath = argv[2];
    std::string method = "gradcam";
    int batch = 16;
    for (int i = 3; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--method")) method = argv[i + 1];
        if (!std::strcmp(argv[i], "--batch")) batch = std::atoi(argv[i + 1]);
    }
    auto source = openImage(slidePath);
    auto model = Model::open(modelPath);
    const auto& spec = model->spec();

    // (3) end to end, fresh results.
    const auto results = std::filesystem::temp_directory_path() / "lucida-analysis-bench";
    std::filesystem::remove_all(results);
    AnalysisSettings settings;
    settings.method = method;
    settings.batchSize = batch;
    auto t0 = Clock::now();
    AnalysisProgress last;
    AnalysisCallbacks callbacks;
    callbacks.onProgress = [&](const AnalysisProgress& p) { last = p; };
    const auto analysis = analyseSlide(*source, *model, settings, results.string(), callbacks);
    const double endToEnd = std::chrono::duration<double>(Clock::now() - t0).count();
    const std::size_t patches = analysis.outcomes.size();
    std::filesystem::remove_all(results);

    // (1) engine alone on in-memory batches of the same shape.
    FloatTensor input({batch, 3, spec.inputHeight, spec.inputWidth});
    std::mt19937 rng(1);
    std::normal_distribution<float> normal;
    for (float& v : input.data) v = normal(rng);
    ExplainOptions options;
    options.method = method;
    options.classIndex = analysis.explainedClass;
    explain(*model, input, options);  // warm-up
    const int rounds = static_cast<int>(std::max<std::size_t>(3, patches / batch / 4));
    t0 = Clock::now();
    for (int r = 0; r < rounds; ++r) explain(*model, input, options);
    const double engineRate =
        rounds * batch / std::chrono::duration<double>(Clock::now() - t0).count();

    // (2) decoding alone: the same reads, on as many threads as analyseSlide uses.
    const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
    std::atomic<std::size_t> next{0};
    t0 = Clock::now();
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t)
        pool.emplace_back([&] {
            for (std::size_t i; (i = next++) < patches;) {
                const Patch& p = analysis.grid.patches[i];
                const double ds = source->info().level(p.level).downsample;
                const auto side = static_cast<std::int64_t>(std::lround(p.width / ds));
                const auto px =
                    source->readRegion(p.level, {static_cast<std::int64_t>(p.x / ds),
                                                 static_cast<std::int64_t>(p.y / ds), side, side});
                preprocess(px, spec);
            }
        });
    for (auto& t : pool) t.join();
    const double decodeRate = patches / std::chrono::duration<double>(Clock::now() - t0).count();

    const double rate = patches / endToEnd;
    std::printf(
        "{\"slide\": \"%s\", \"model\": \"%s\", \"method\": \"%s\", \"batch\": %d, "
        "\"patches\": %zu, \"input\": %d, \"analysis_patches_per_second\": %.2f, "
        "\"engine_patches_per_second\": %.2f, \"decode_patches_per_second\": %.2f, "
        "\"ratio_to_engine\": %.3f, \"pipeline_patches_per_second\": %.2f, "
        "\"pipeline_ratio_to_engine\": %.3f, \"seconds\": %.2f}\n",
        slidePath.c_str(), modelPath.c_str(), method.c_str(), batch, patches, spec.inputWidth, rate,
        engineRate, decodeRate, rate / engineRate, last.patchesPerSecond,
        last.patchesPerSecond / engineRate, endToEnd);
    return 0;
}
