// Whole-slide analysis throughput against the engine alone, in one run: decoding alone (the patch
// reads and preprocessing analyseSlide does, on its thread pool), then rounds of (1) the model +
// CAM method on real patches of the slide already in memory (the ceiling) and (2) analyseSlide end
// to end on a fresh results folder (decoding overlapped with inference), once with patches read
// through the tile cache and loader and once straight from the slide as before issue 12
// (LUCIDA_DIRECT_PATCH_READS=1). Prints JSON.
// Usage: analysis_bench SLIDE MODEL [--method gradcam] [--batch 16] [--rounds 3]
#include "analysis/PatchGrid.h"
#include "analysis/SlideAnalysis.h"
#include "analysis/TissueMask.h"
#include "cam/Explainer.h"
#include "image/ImageSource.h"
#include "model/Model.h"
#include "model/Preprocess.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <thread>

using namespace lucida;
using Clock = std::chrono::steady_clock;

namespace {

double seconds(Clock::time_point since) {
    return std::chrono::duration<double>(Clock::now() - since).count();
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

std::string list(const std::vector<double>& v) {
    std::string s = "[";
    for (std::size_t i = 0; i < v.size(); ++i) {
        char number[32];
        std::snprintf(number, sizeof number, "%s%.2f", i ? ", " : "", v[i]);
        s += number;
    }
    return s + "]";
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr,
                     "usage: analysis_bench SLIDE MODEL [--method M] [--batch N] [--rounds N]\n");
        return 2;
    }
    const std::string slidePath = argv[1], modelPath = argv[2];
    std::string method = "gradcam";
    int batch = 16, rounds = 3;
    for (int i = 3; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--method")) method = argv[i + 1];
        if (!std::strcmp(argv[i], "--batch")) batch = std::atoi(argv[i + 1]);
        if (!std::strcmp(argv[i], "--rounds")) rounds = std::max(1, std::atoi(argv[i + 1]));
    }
    auto source = openImage(slidePath);
    auto model = Model::open(modelPath);
    const auto& spec = model->spec();

    // The patches analyseSlide will run (same tissue detection and plan).
    PatchGridOptions gridOptions;
    gridOptions.inputSize = spec.inputWidth;
    gridOptions.micronsPerPixel = spec.micronsPerPixel;
    gridOptions.magnification = spec.magnification;
    const TissueMask tissue = detectTissue(*source);
    const PatchGrid grid = planPatchGrid(source->info(), gridOptions, &tissue);
    const std::size_t patches = grid.patches.size();
    auto readOne = [&](const Patch& p) {
        const double ds = source->info().level(p.level).downsample;
        const auto side = static_cast<std::int64_t>(std::lround(p.width / ds));
        return preprocess(
            source->readRegion(p.level, {static_cast<std::int64_t>(p.x / ds),
                                         static_cast<std::int64_t>(p.y / ds), side, side}),
            spec);
    };

    // Decoding alone: the same reads, on as many threads as analyseSlide uses.
    const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
    std::atomic<std::size_t> next{0};
    auto t0 = Clock::now();
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t)
        pool.emplace_back([&] {
            for (std::size_t i; (i = next++) < patches;) readOne(grid.patches[i]);
        });
    for (auto& t : pool) t.join();
    const double decodeRate = patches / seconds(t0);

    // The engine alone runs on real patches of this slide, decoded ahead into memory.
    std::vector<FloatTensor> batches;
    for (std::size_t i = 0; i + batch <= std::min<std::size_t>(patches, 8 * batch); i += batch) {
        std::vector<FloatTensor> inputs;
        for (int k = 0; k < batch; ++k) inputs.push_back(readOne(grid.patches[i + k]));
        batches.push_back(stackBatch(inputs));
    }
    if (batches.empty()) {
        std::fprintf(stderr, "fewer tissue patches (%zu) than one batch\n", patches);
        return 1;
    }
    ExplainOptions options;
    options.method = method;
    options.classIndex = spec.classCount() - 1;
    explain(*model, batches.front(), options);  // warm-up

    // Rounds of engine alone, then the analysis end to end: each ratio compares neighbours in
    // time, so a machine that speeds up or slows down between runs moves both.
    const auto results = std::filesystem::temp_directory_path() / "lucida-analysis-bench";
    std::vector<double> engine, pipeline, endToEnd, ratio;
    std::vector<double> directPipeline, directEndToEnd, tilesOverDirect;
    RegionReads reads;
    for (int r = 0; r < rounds; ++r) {
        const std::size_t engineBatches = std::max<std::size_t>(4, patches / batch / 2);
        t0 = Clock::now();
        for (std::size_t b = 0; b < engineBatches; ++b)
            explain(*model, batches[b % batches.size()], options);
        engine.push_back(engineBatches * batch / seconds(t0));

        // Before issue 12 (patches read straight from the slide), then through the tiles, in
        // alternating order so neither always runs first.
        for (int pass = 0; pass < 2; ++pass) {
            const bool direct = (pass == 0) == (r % 2 == 0);
            if (direct)
                setenv("LUCIDA_DIRECT_PATCH_READS", "1", 1);
            else
                unsetenv("LUCIDA_DIRECT_PATCH_READS");
            std::filesystem::remove_all(results);
            AnalysisSettings settings;
            settings.mode = AnalysisMode::Patch;  // what this bench measures: patch reads
            settings.method = method;
            settings.batchSize = batch;
            AnalysisProgress last;
            AnalysisCallbacks callbacks;
            callbacks.onProgress = [&](const AnalysisProgress& p) { last = p; };
            t0 = Clock::now();
            const auto analysis =
                analyseSlide(*source, *model, settings, results.string(), callbacks);
            (direct ? directEndToEnd : endToEnd).push_back(analysis.outcomes.size() / seconds(t0));
            (direct ? directPipeline : pipeline).push_back(last.patchesPerSecond);
            if (!direct) reads = analysis.reads;
        }
        unsetenv("LUCIDA_DIRECT_PATCH_READS");
        ratio.push_back(pipeline.back() / engine.back());
        tilesOverDirect.push_back(pipeline.back() / directPipeline.back());
        std::fprintf(stderr,
                     "round %d: engine %.1f, pipeline %.1f patches/s through tiles (ratio %.3f), "
                     "%.1f direct (before)\n",
                     r + 1, engine.back(), pipeline.back(), ratio.back(), directPipeline.back());
    }
    std::filesystem::remove_all(results);

    std::printf(
        "{\"slide\": \"%s\", \"model\": \"%s\", \"method\": \"%s\", \"batch\": %d, "
        "\"patches\": %zu, \"input\": %d, \"decode_patches_per_second\": %.2f, "
        "\"engine_patches_per_second\": %s, \"pipeline_patches_per_second\": %s, "
        "\"end_to_end_patches_per_second\": %s, \"pipeline_ratio_to_engine\": %s, "
        "\"median_ratio\": %.3f, \"direct_pipeline_patches_per_second\": %s, "
        "\"direct_end_to_end_patches_per_second\": %s, \"tiles_over_direct\": %s, "
        "\"median_tiles_over_direct\": %.3f, \"reads_from_cache\": %zu, \"reads_decoded\": %zu, "
        "\"reads_direct\": %zu, \"tile_misses\": %zu}\n",
        slidePath.c_str(), modelPath.c_str(), method.c_str(), batch, patches, spec.inputWidth,
        decodeRate, list(engine).c_str(), list(pipeline).c_str(), list(endToEnd).c_str(),
        list(ratio).c_str(), median(ratio), list(directPipeline).c_str(),
        list(directEndToEnd).c_str(), list(tilesOverDirect).c_str(), median(tilesOverDirect),
        reads.fromCache, reads.decoded, reads.direct, reads.tileMisses);
    return 0;
}
