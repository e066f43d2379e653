// first_heat_bench: time to first heat on screen. With a model already open in the real main
// window (offscreen), a slide is opened and the clock runs until the view has painted heat: the
// live analysis of the view (tissue detection, the first batch, stitching) plus the painting.
// "cold" opens a slide with nothing stored (a fresh link to it in a temporary folder, so its
// results folder is new); "stored" reopens it in a new window (results read back, no inference).
// Each round also opens it with patches read straight from the slide (LUCIDA_DIRECT_PATCH_READS=1,
// the path before issue 12), and after the first heat zooms in to the analysis's level to count
// the patch decodes that sharing the view's tile cache saves.
// Usage: first_heat_bench SLIDE MODEL [--rounds 3] [--width 1600] [--height 1000]
// Prints JSON (milliseconds). Run with QT_QPA_PLATFORM=offscreen.
#include "AnalysisController.h"
#include "HeatmapOverlay.h"
#include "ImageDocument.h"
#include "MainWindow.h"
#include "SlideView.h"
#include "TileService.h"
#include "model/AllocatorMode.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QSettings>
#include <QTemporaryDir>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

using namespace lucida::ui;

namespace {

struct Timing {
    double opened = -1, tiles = -1, heat = -1;  // ms from openPath
    // After the first heat, the view zoomed to the analysis's level on patches not yet done,
    // until everything in view is analysed: patch reads served from cached tiles and decoded
    // (through the tiles, or straight from the slide before issue 12), and the tile decodes of
    // the shared loader meanwhile (the view's and the analysis's).
    lucida::RegionReads reads;
    std::uint64_t loaderDecodes = 0;
};

// Waits (processing events) until `done` or `ms` pass; false on timeout.
template <class F>
bool waitFor(F done, int ms) {
    QElapsedTimer t;
    t.start();
    while (!done()) {
        if (t.elapsed() > ms) return false;
        QCoreApplication::processEvents(QEventLoop::AllEvents, 5);
    }
    return true;
}

// Zooms `view` to one screen pixel per pixel of the analysis's level, centred on a tissue patch
// not yet done, and waits until the live run has done the view and the tiles are drawn.
void zoomToAnalysisLevel(SlideView* view, AnalysisController* c, TileService& tiles, Timing& t) {
    const auto a = c->analysis();
    if (!a || a->grid.patches.empty()) return;
    std::vector<std::size_t> todo;
    for (std::size_t i = 0; i < a->outcomes.size(); ++i)
        if (!a->outcomes[i].done) todo.push_back(i);
    if (todo.empty()) return;
    const lucida::Patch& p = a->grid.patches[todo[todo.size() / 4]];
    const lucida::RegionReads before = c->progress().reads;
    const std::uint64_t decodedBefore = tiles.loader().stats().decoded;
    view->setCentre(p.x + p.width / 2, p.y + p.height / 2);
    view->setScale(1.0 / view->document()->info().level(p.level).downsample);
    waitFor([&] { return c->progress().idle && view->isFullyLoaded(); }, 300000);
    const lucida::RegionReads after = c->progress().reads;
    t.reads = {after.fromCache - before.fromCache, after.decoded - before.decoded,
               after.direct - before.direct, after.tileMisses - before.tileMisses};
    t.loaderDecodes = tiles.loader().stats().decoded - decodedBefore;
}

Timing openAndTime(TileService& tiles, const QString& slide, const QString& model, int width,
                   int height, bool zoom = false) {
    MainWindow window(&tiles);
    window.resize(width, height);
    window.show();
    bool modelOpen = false;
    QObject::connect(&window, &MainWindow::modelOpened, [&] { modelOpen = true; });
    window.openModel(model);
    if (!waitFor([&] { return modelOpen; }, 120000)) throw std::runtime_error("model not opened");

    Timing t;
    SlideView* view = nullptr;
    QObject::connect(&window, &MainWindow::documentOpened, [&](SlideView* v) { view = v; });
    QElapsedTimer clock;
    clock.start();
    window.openPath(slide);
    if (!waitFor([&] { return view != nullptr; }, 60000)) throw std::runtime_error("not opened");
    t.opened = clock.nsecsElapsed() / 1e6;
    AnalysisController* c = AnalysisController::of(view);
    if (!c) throw std::runtime_error("no analysis controller");
    const bool heat = waitFor(
        [&] {
            if (t.tiles < 0 && view->isFullyLoaded()) t.tiles = clock.nsecsElapsed() / 1e6;
            return !c->overlay()->isEmpty() && c->overlay()->heatmapPaints() > 0;
        },
        300000);
    if (!heat) throw std::runtime_error("no heat within 300 s");
    t.heat = clock.nsecsElapsed() / 1e6;
    if (zoom) zoomToAnalysisLevel(view, c, tiles, t);
    c->cancel();
    waitFor([&] { return !c->isBusy(); }, 60000);
    return t;
}

}  // namespace

int main(int argc, char** argv) {
    lucida::useTileAllocator();  // as the viewer does
    QApplication app(argc, argv);
    QCoreApplication::setOrganizationName("LucidaBench");
    QCoreApplication::setApplicationName("first_heat_bench");
    if (argc < 3) {
        std::fprintf(stderr,
                     "usage: first_heat_bench SLIDE MODEL [--rounds N] [--width W] "
                     "[--height H]\n");
        return 2;
    }
    const QString slide = QString::fromLocal8Bit(argv[1]), model = QString::fromLocal8Bit(argv[2]);
    int rounds = 3, width = 1600, height = 1000;
    for (int i = 3; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--rounds")) rounds = std::max(1, std::atoi(argv[i + 1]));
        if (!std::strcmp(argv[i], "--width")) width = std::atoi(argv[i + 1]);
        if (!std::strcmp(argv[i], "--height")) height = std::atoi(argv[i + 1]);
    }
    QSettings().setValue("analysis/live", true);
    TileService tiles;
    std::string cold = "[", stored = "[", direct = "[";
    try {
        for (int r = 0; r < rounds; ++r) {
            // Each round: patches through the shared tiles, then (or first, every other round)
            // straight from the slide as before issue 12, each on a fresh link and a cold cache.
            Timing a, d;
            for (int pass = 0; pass < 2; ++pass) {
                const bool before = (pass == 0) == (r % 2 == 1);
                if (before)
                    qputenv("LUCIDA_DIRECT_PATCH_READS", "1");
                else
                    qunsetenv("LUCIDA_DIRECT_PATCH_READS");
                tiles.cache().clear();
                QTemporaryDir dir;
                const QString link = dir.filePath(QFileInfo(slide).fileName());
                if (!QFile::link(QFileInfo(slide).absoluteFilePath(), link))
                    throw std::runtime_error("cannot link the slide into a temporary folder");
                (before ? d : a) = openAndTime(tiles, link, model, width, height, true);
                if (!before) {
                    const Timing b = openAndTime(tiles, link, model, width, height);
                    char text[128];
                    std::snprintf(text, sizeof text,
                                  "%s{\"opened\": %.0f, \"tiles\": %.0f, \"heat\": %.0f}",
                                  r ? ", " : "", b.opened, b.tiles, b.heat);
                    stored += text;
                }
            }
            qunsetenv("LUCIDA_DIRECT_PATCH_READS");
            auto entry = [r](const Timing& t) {
                char text[320];
                std::snprintf(text, sizeof text,
                              "%s{\"opened\": %.0f, \"tiles\": %.0f, \"heat\": %.0f, "
                              "\"zoomed_reads_from_cache\": %zu, \"zoomed_reads_decoded\": %zu, "
                              "\"zoomed_reads_direct\": %zu, \"zoomed_tile_decodes\": %llu}",
                              r ? ", " : "", t.opened, t.tiles, t.heat, t.reads.fromCache,
                              t.reads.decoded, t.reads.direct,
                              static_cast<unsigned long long>(t.loaderDecodes));
                return std::string(text);
            };
            cold += entry(a);
            direct += entry(d);
            std::fprintf(stderr,
                         "round %d: first heat %.0f ms cold (%.0f ms before issue 12); zoomed in: "
                         "%zu patch reads from cached tiles, %zu decoded, %llu tile decodes "
                         "(before: %zu patch decodes + %llu tile decodes)\n",
                         r + 1, a.heat, d.heat, a.reads.fromCache, a.reads.decoded,
                         static_cast<unsigned long long>(a.loaderDecodes), d.reads.direct,
                         static_cast<unsigned long long>(d.loaderDecodes));
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "first_heat_bench: %s\n", e.what());
        return 1;
    }
    std::printf(
        "{\"slide\": \"%s\", \"model\": \"%s\", \"view\": [%d, %d], \"cold_ms\": %s], "
        "\"cold_direct_reads_ms\": %s], \"stored_ms\": %s]}\n",
        argv[1], argv[2], width, height, cold.c_str(), direct.c_str(), stored.c_str());
    return 0;
}
