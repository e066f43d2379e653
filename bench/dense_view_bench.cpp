// Time to first heat in view for dense mode (issue 16): analyseSlide in dense mode on fresh
// results folders, once in the plan's order (top to bottom, as before dense mode followed the
// view) and once with a view as the viewer gives it (whole slide: tiles under the view first;
// live: only what the view needs). Measured from the call: the first patch in view done, every
// patch in view done (the view's heat complete), and the run's end.
// Usage: dense_view_bench SLIDE MODEL [--view X,Y,W,H] [--rounds 1]
// Default view: 1600 × 1000 level-0 pixels (a 1:1 view) centred in the lower-right quarter.
#include "analysis/SlideAnalysis.h"
#include "image/ImageSource.h"
#include "model/Model.h"

#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include <unistd.h>

using namespace lucida;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

using View = std::array<double, 4>;

struct Timing {
    double firstInView = -1, allInView = -1, end = -1;
    std::size_t inView = 0, done = 0, total = 0;
};

// `order`: "top-to-bottom" (no focus), "view-first" (whole slide, focus), "live" (view scope).
Timing run(const ImageSource& source, const Model& model, const View& view, const char* order,
           const fs::path& root) {
    AnalysisSettings s;
    s.mode = AnalysisMode::Dense;
    const bool focus = std::strcmp(order, "top-to-bottom") != 0;
    const bool whole = std::strcmp(order, "live") != 0;
    Timing t;
    const auto started = Clock::now();
    const auto since = [&] {
        return std::chrono::duration<double>(Clock::now() - started).count();
    };
    bool idle = false;
    AnalysisCallbacks callbacks;
    callbacks.onBatch = [&](const SlideAnalysis& a) {
        std::size_t inView = 0, done = 0;
        for (std::size_t i = 0; i < a.outcomes.size(); ++i) {
            const Patch& p = a.grid.patches[i];
            if (!p.intersects(view[0], view[1], view[2], view[3])) continue;
            ++inView;
            done += a.outcomes[i].done;
        }
        t.inView = inView;
        if (done > 0 && t.firstInView < 0) t.firstInView = since();
        if (done == inView && t.allInView < 0) t.allInView = since();
    };
    if (focus) callbacks.focus = [&] { return std::optional<View>(view); };
    callbacks.wholeSlide = [whole] { return whole; };
    callbacks.onIdle = [&](const SlideAnalysis&) { idle = true; };
    callbacks.cancelled = [&] { return idle; };
    const SlideAnalysis a = analyseSlide(source, model, s, root.string(), callbacks);
    t.end = since();
    t.done = a.doneCount();
    t.total = a.outcomes.size();
    if (a.settings.mode != AnalysisMode::Dense) std::fprintf(stderr, "note: ran per patch\n");
    return t;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: dense_view_bench SLIDE MODEL [--view X,Y,W,H] [--rounds N]\n");
        return 2;
    }
    const auto source = openImage(argv[1]);
    const auto model = Model::open(argv[2]);
    const double w = double(source->info().width()), h = double(source->info().height());
    View view{w * 0.75 - 800, h * 0.75 - 500, 1600, 1000};
    int rounds = 1;
    for (int i = 3; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--view"))
            std::sscanf(argv[i + 1], "%lf,%lf,%lf,%lf", &view[0], &view[1], &view[2], &view[3]);
        else if (!std::strcmp(argv[i], "--rounds"))
            rounds = std::stoi(argv[i + 1]);
    }
    const fs::path dir =
        fs::temp_directory_path() / ("dense_view_bench_" + std::to_string(::getpid()));
    std::printf("{\"view\": [%.0f, %.0f, %.0f, %.0f], \"runs\": [\n", view[0], view[1], view[2],
                view[3]);
    bool first = true;
    for (int round = 0; round < rounds; ++round)
        for (const char* order : {"top-to-bottom", "view-first", "live"}) {
            const fs::path root = dir / (std::string(order) + std::to_string(round));
            const Timing t = run(*source, *model, view, order, root);
            std::printf(
                "%s  {\"order\": \"%s\", \"round\": %d, \"first_in_view_s\": %.3f, "
                "\"all_in_view_s\": %.3f, \"end_s\": %.3f, \"in_view\": %zu, "
                "\"done\": %zu, \"patches\": %zu}",
                first ? "" : ",\n", order, round, t.firstInView, t.allInView, t.end, t.inView,
                t.done, t.total);
            first = false;
            std::fflush(stdout);
            fs::remove_all(root);
        }
    std::printf("\n]}\n");
    fs::remove_all(dir);
    return 0;
}
