#include "CliMakeDemo.h"

#include "demo/DemoData.h"
#include "util/ProgressText.h"

#include <CLI/CLI.hpp>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <stdexcept>
#include <system_error>

namespace lucida::cli {

namespace fs = std::filesystem;

namespace {

double secondsSince(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

CLI::App* addMakeDemoCommand(CLI::App& app, MakeDemoArgs& args) {
    static_assert(MakeDemoArgs{}.seed == demo::kDefaultSeed);
    auto* cmd = app.add_subcommand(
        "make-demo",
        "Write synthetic H&E demo data: normal/tumour patches with lesion masks and a whole slide");
    cmd->add_option("--out", args.outDir, "output folder (patches/ and slide/ inside)")->required();
    cmd->add_option("--seed", args.seed, "random seed; the same seed gives identical files")
        ->capture_default_str();
    cmd->add_option("--patch-size", args.patchSize, "patch side in pixels")
        ->check(CLI::Range(32, 1024))
        ->capture_default_str();
    cmd->add_option("--train-per-class", args.trainPerClass, "training patches per class")
        ->check(CLI::Range(0, 1000000))
        ->capture_default_str();
    cmd->add_option("--val-per-class", args.valPerClass, "validation patches per class")
        ->check(CLI::Range(0, 1000000))
        ->capture_default_str();
    cmd->add_option("--test-per-class", args.testPerClass, "test patches per class")
        ->check(CLI::Range(0, 1000000))
        ->capture_default_str();
    cmd->add_flag("--slide,!--no-slide", args.slide, "also write the whole slide (default) or not");
    cmd->add_option("--slide-width", args.slideWidth, "slide width in level-0 pixels")
        ->check(CLI::Range(1024, 200000))
        ->capture_default_str();
    cmd->add_option("--slide-height", args.slideHeight, "slide height in level-0 pixels")
        ->check(CLI::Range(1024, 200000))
        ->capture_default_str();
    return cmd;
}

int runMakeDemo(const MakeDemoArgs& args, std::ostream& log) {
    const fs::path root(args.outDir);
    const auto start = std::chrono::steady_clock::now();

    demo::DemoSetOptions set;
    set.seed = args.seed;
    set.patchSize = args.patchSize;
    set.trainPerClass = args.trainPerClass;
    set.valPerClass = args.valPerClass;
    set.testPerClass = args.testPerClass;
    int lastTenth = -1;
    set.progress = [&](int done, int total) {
        const int tenth = total ? done * 10 / total : 10;
        if (tenth == lastTenth) return;
        lastTenth = tenth;
        log << "make-demo: patches " << done << "/" << total << " (" << tenth * 10 << "%)\n"
            << std::flush;
    };
    const fs::path patches = root / "patches";
    const demo::DemoSetSummary summary = demo::writeDemoSet(patches.string(), set);
    log << "make-demo: " << summary.patches << " patches of " << args.patchSize << " px in "
        << patches.string() << " (mean lesion share of tumour patches "
        << std::lround(summary.meanLesionShare * 100) << "%), " << durationText(secondsSince(start))
        << "\n"
        << std::flush;

    if (args.slide) {
        const auto slideStart = std::chrono::steady_clock::now();
        const fs::path dir = root / "slide";
        std::error_code ec;
        fs::create_directories(dir, ec);
        if (ec) throw std::runtime_error(dir.string() + ": cannot create folder: " + ec.message());
        demo::DemoSlideOptions options;
        options.seed = args.seed;
        options.width = args.slideWidth;
        options.height = args.slideHeight;
        int lastStep = -1;
        options.progress = [&](double fraction) {
            const int step = static_cast<int>(fraction * 10);
            if (step == lastStep) return;
            lastStep = step;
            log << "make-demo: slide " << step * 10 << "%\n" << std::flush;
        };
        const demo::DemoSlideResult r = demo::writeDemoSlide(
            (dir / "demo-slide.tiff").string(), (dir / "demo-slide-mask.png").string(), options);
        log << "make-demo: slide " << r.path << " (" << r.width << " x " << r.height
            << " px, 0.5 um/px, 20x, " << r.lesions.size() << " lesions), mask " << r.maskPath
            << ", lesions " << r.jsonPath << ", " << durationText(secondsSince(slideStart)) << "\n";
    }
    log << "make-demo: done in " << durationText(secondsSince(start)) << "\n" << std::flush;
    return 0;
}

}  // namespace lucida::cli
