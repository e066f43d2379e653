#include "first_heat_sharing.h"

#include "ImageDocument.h"
#include "MainWindow.h"
#include "SlideView.h"
#include "TileService.h"
#include "engine/ModelEngine.h"
#include "tiles/TileGrid.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QTemporaryDir>

#include <atomic>
#include <cmath>
#include <future>
#include <limits>
#include <memory>
#include <stdexcept>

using namespace lucida;
using namespace lucida::ui;

namespace {

// The sharing measured here is patch mode's (per-patch reads through the tile loader).
AnalysisSettings patchSettings() {
    AnalysisSettings s;
    s.mode = AnalysisMode::Patch;
    return s;
}

template <class F>
bool pumpUntil(F done, int ms) {
    QElapsedTimer t;
    t.start();
    while (!done()) {
        if (t.elapsed() > ms) return false;
        QCoreApplication::processEvents(QEventLoop::AllEvents, 5);
    }
    return true;
}

std::array<double, 4> rectOf(const ViewGeometry& g) {
    const RectF r = g.visibleImageRect();
    return {r.x, r.y, r.width, r.height};
}

// The analysis of the patches in `focus` only (as the live analysis of a view), through the
// window's loader and cache, on a fresh results folder; returns once all of them are done.
SlideAnalysis analyseRegion(const ImageSource& source, const Model& model, TileLoader& loader,
                            const std::array<double, 4>& focus) {
    QTemporaryDir results;
    auto stop = std::make_shared<std::atomic<bool>>(false);
    AnalysisCallbacks c;
    c.tiles = &loader;
    c.wholeSlide = [] { return false; };
    c.focus = [focus] { return std::optional<std::array<double, 4>>(focus); };
    c.onIdle = [stop](const SlideAnalysis&) { *stop = true; };
    c.cancelled = [stop] { return stop->load(); };
    auto run = std::async(std::launch::async, [&] {
        return modelEngine().analyseSlide(source, model, patchSettings(),
                                          results.path().toStdString(), c);
    });
    if (!pumpUntil(
            [&] { return run.wait_for(std::chrono::seconds(0)) == std::future_status::ready; },
            300000))
        throw std::runtime_error("the region's analysis took over 300 s");
    return run.get();
}

std::size_t donePatches(const SlideAnalysis& a) {
    std::size_t n = 0;
    for (const auto& o : a.outcomes) n += o.done;
    return n;
}

// The view at the analysis's level (one screen pixel per level pixel), centred on the tissue
// patch nearest the slide's centre. Planned by a run that reads no patch (no focus, view scope).
ViewGeometry analysisView(const ImageSource& source, const Model& model, ViewGeometry g) {
    QTemporaryDir results;
    AnalysisCallbacks c;
    c.wholeSlide = [] { return false; };
    c.cancelled = [] { return true; };
    const SlideAnalysis plan =
        modelEngine().analyseSlide(source, model, patchSettings(), results.path().toStdString(), c);
    if (plan.grid.patches.empty()) throw std::runtime_error("no tissue patch in the slide");
    const double cx = source.info().width() / 2.0, cy = source.info().height() / 2.0;
    const Patch* best = nullptr;
    double bestDistance = std::numeric_limits<double>::max();
    for (const Patch& p : plan.grid.patches) {
        const double d = std::hypot(p.x + p.width / 2 - cx, p.y + p.height / 2 - cy);
        if (d < bestDistance) bestDistance = d, best = &p;
    }
    g.centreX = best->x + best->width / 2;
    g.centreY = best->y + best->height / 2;
    g.scale = 1.0 / source.info().level(best->level).downsample;
    g.clampCentre(double(source.info().width()), double(source.info().height()));  // as the view
    return g;
}

// A fresh main window (no model) with `slide` open and painted; the view through `view`.
std::unique_ptr<MainWindow> openWindow(TileService& tiles, const QString& slide, int width,
                                       int height, SlideView*& view) {
    auto window = std::make_unique<MainWindow>(&tiles);
    window->resize(width, height);
    window->show();
    view = nullptr;
    QObject::connect(window.get(), &MainWindow::documentOpened,
                     [&view](SlideView* v) { view = v; });
    window->openPath(slide);
    if (!pumpUntil([&] { return view && view->isFullyLoaded(); }, 60000))
        throw std::runtime_error("the slide did not open");
    return window;
}

void moveView(SlideView* view, const ViewGeometry& to) {
    view->setScale(to.scale);
    view->setCentre(to.centreX, to.centreY);
    if (!pumpUntil([&] { return view->isFullyLoaded(); }, 60000))
        throw std::runtime_error("the view did not load");
}

}  // namespace

SharingCounts measureSharing(TileService& tiles, const QString& slide, const QString& modelPath,
                             int width, int height) {
    SharingCounts s;
    const auto model = modelEngine().openModel(modelPath.toStdString());
    TileLoader& loader = tiles.loader();
    {  // The user looks first, then the analysis runs on what is on screen.
        tiles.cache().clear();
        SlideView* view = nullptr;
        const auto window = openWindow(tiles, slide, width, height, view);
        const ImageSource& source = *view->document()->source();
        moveView(view, analysisView(source, *model, view->viewGeometry()));
        // The view's prefetch ring too, so the decodes below are the analysis's own.
        if (!pumpUntil([&] { return loader.pendingCount() == 0; }, 60000))
            throw std::runtime_error("the view's prefetch did not finish");
        const ViewGeometry& g = view->viewGeometry();
        s.viewTiles = planTiles(source.info(), source.id(), 0, g).visible.size();
        const std::uint64_t before = loader.stats().decoded;
        const SlideAnalysis a = analyseRegion(source, *model, loader, rectOf(g));
        s.patchesAfterView = donePatches(a);
        s.readsAfterView = a.reads;
        s.loaderDecodesAfterView = loader.stats().decoded - before;
    }
    {  // The analysis runs on a region first (the view elsewhere), then the user zooms to it.
        tiles.cache().clear();
        SlideView* view = nullptr;
        const auto window = openWindow(tiles, slide, width, height, view);
        const ImageSource& source = *view->document()->source();
        const ViewGeometry to = analysisView(source, *model, view->viewGeometry());
        if (!pumpUntil([&] { return loader.pendingCount() == 0; }, 60000))
            throw std::runtime_error("the view's prefetch did not finish");
        const std::uint64_t before = loader.stats().decoded;
        const SlideAnalysis a = analyseRegion(source, *model, loader, rectOf(to));
        s.patchesBeforeView = donePatches(a);
        s.analysisTileDecodes = loader.stats().decoded - before;
        // The view's tiles there (planned as the view will once moved): those the analysis left
        // in the cache are not decoded again.
        const TilePlan plan = planTiles(source.info(), source.id(), 0, to);
        s.viewTilesThen = plan.visible.size();
        for (const TileKey& k : plan.visible) s.viewTilesCached += tiles.cache().contains(k);
        moveView(view, to);
    }
    return s;
}
