// first_heat_bench: time to first heat on screen. With a model already open in the real main
// window (offscreen), a slide is opened and the clock runs until the view has painted heat: the
// live analysis of the view (tissue detection, the first batch, stitching) plus the painting.
// "cold" opens a slide with nothing stored (a fresh link to it in a temporary folder, so its
// results folder is new); "stored" reopens it in a new window (results read back, no inference).
// Each round also opens it with patches read straight from the slide (LUCIDA_DIRECT_PATCH_READS=1,
// the path before issue 12). Then, once, the decodes that sharing the view's tile cache saves
// (first_heat_sharing.h): the view at the analysis's level and then the analysis, and the reverse.
// Usage: first_heat_bench SLIDE MODEL [--rounds 3] [--width 1600] [--height 1000]
// One uncounted open first (LibTorch's one-time set-up). Prints JSON (milliseconds). Run with
// QT_QPA_PLATFORM=offscreen.
#include "AnalysisController.h"
#include "HeatmapOverlay.h"
#include "ImageDocument.h"
#include "MainWindow.h"
#include "SlideView.h"
#include "TileService.h"
#include "first_heat_sharing.h"
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

Timing openAndTime(TileService& tiles, const QString& slide, const QString& model, int width,
                   int height) {
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
    // Per-patch mode: the patches come through the shared tiles (dense mode, the viewer's default
    // since issue 16, reads its large tiles from the slide either way).
    QSettings().setValue("analysis/mode", "patch");
    TileService tiles;
    std::string cold = "[", stored = "[", direct = "[";
    SharingCounts sharing;
    try {
        {  // Not counted: the process's first analysis pays LibTorch's one-time set-up.
            QTemporaryDir dir;
            const QString link = dir.filePath(QFileInfo(slide).fileName());
            if (!QFile::link(QFileInfo(slide).absoluteFilePath(), link))
                throw std::runtime_error("cannot link the slide into a temporary folder");
            openAndTime(tiles, link, model, width, height);
        }
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
                (before ? d : a) = openAndTime(tiles, link, model, width, height);
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
                char text[128];
                std::snprintf(text, sizeof text,
                              "%s{\"opened\": %.0f, \"tiles\": %.0f, \"heat\": %.0f}",
                              r ? ", " : "", t.opened, t.tiles, t.heat);
                return std::string(text);
            };
            cold += entry(a);
            direct += entry(d);
            std::fprintf(stderr, "round %d: first heat %.0f ms cold (%.0f ms before issue 12)\n",
                         r + 1, a.heat, d.heat);
        }
        sharing = measureSharing(tiles, QFileInfo(slide).absoluteFilePath(), model, width, height);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "first_heat_bench: %s\n", e.what());
        return 1;
    }
    const SharingCounts& h = sharing;
    std::printf(
        "{\"slide\": \"%s\", \"model\": \"%s\", \"view\": [%d, %d], \"cold_ms\": %s], "
        "\"cold_direct_reads_ms\": %s], \"stored_ms\": %s],\n"
        " \"view_then_analysis\": {\"view_tiles\": %zu, \"patches\": %zu, "
        "\"reads_from_cache\": %zu, \"reads_decoded\": %zu, \"reads_direct\": %zu, "
        "\"tile_decodes\": %llu},\n"
        " \"analysis_then_view\": {\"patches\": %zu, \"analysis_tile_decodes\": %llu, "
        "\"view_tiles\": %zu, \"view_tiles_cached\": %zu}}\n",
        argv[1], argv[2], width, height, cold.c_str(), direct.c_str(), stored.c_str(), h.viewTiles,
        h.patchesAfterView, h.readsAfterView.fromCache, h.readsAfterView.decoded,
        h.readsAfterView.direct, static_cast<unsigned long long>(h.loaderDecodesAfterView),
        h.patchesBeforeView, static_cast<unsigned long long>(h.analysisTileDecodes),
        h.viewTilesThen, h.viewTilesCached);
    return 0;
}
