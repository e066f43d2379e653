// Dense mode follows the view (issue 16): the tiles under the patches on screen run first, then
// outwards; a view that moves mid-run re-orders the tiles left; with the view scope (live heat)
// only what the view needs runs. Whatever the order, every patch's outcome is the same as in the
// plan's top-to-bottom order (what patches.bin holds and the stitched CAM, within 1e-6).
#include "analysis/AnalysisOutputs.h"
#include "analysis/DenseOrder.h"
#include "analysis/SlideAnalysis.h"
#include "cam/DenseCam.h"
#include "demo/DemoData.h"
#include "image/ImageSource.h"
#include "model/Model.h"

#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>
#include <set>
#include <vector>

using namespace lucida;

namespace {

using View = std::array<double, 4>;

bool inView(const Patch& p, const View& v) { return p.intersects(v[0], v[1], v[2], v[3]); }

View grown(const View& v, double by) {
    return {v[0] - by, v[1] - by, v[2] + 2 * by, v[3] + 2 * by};
}

// A run of the demo slide in dense mode that records which patches each tile completed (one
// onBatch per tile), with `focus` asked before every tile (given how many batches came so far).
struct Recorded {
    SlideAnalysis analysis;
    std::vector<std::vector<std::size_t>> batches;  // grid indices completed, per batch
    int idles = 0;
};

Recorded runDense(const ImageSource& source, const Model& model, const std::string& root,
                  std::function<std::optional<View>(std::size_t)> focus, bool wholeSlide = true) {
    AnalysisSettings s;
    s.mode = AnalysisMode::Dense;
    s.denseTile = 256;  // many tiles on a small slide
    Recorded r;
    std::vector<char> seen;
    AnalysisCallbacks callbacks;
    callbacks.onBatch = [&](const SlideAnalysis& a) {
        seen.resize(a.outcomes.size(), 0);
        std::vector<std::size_t> now;
        for (std::size_t i = 0; i < a.outcomes.size(); ++i)
            if (a.outcomes[i].done && !seen[i]) now.push_back(i), seen[i] = 1;
        r.batches.push_back(now);
    };
    if (focus) callbacks.focus = [&] { return focus(r.batches.size()); };
    callbacks.wholeSlide = [wholeSlide] { return wholeSlide; };
    callbacks.onIdle = [&](const SlideAnalysis&) { ++r.idles; };
    callbacks.cancelled = [&] { return r.idles > 0; };  // view scope: stop once idle
    r.analysis = analyseSlide(source, model, s, root, callbacks);
    return r;
}

// The largest differences of two runs' stored outcomes (read back from patches.bin).
void compareStored(const SlideAnalysis& a, const SlideAnalysis& b, double& camDiff, double& camMax,
                   double& probabilityDiff) {
    QCOMPARE(a.outcomes.size(), b.outcomes.size());
    camDiff = camMax = probabilityDiff = 0;
    for (std::size_t i = 0; i < a.outcomes.size(); ++i) {
        const PatchOutcome &x = a.outcomes[i], &y = b.outcomes[i];
        QVERIFY(x.done && y.done);
        QCOMPARE(x.cam.size(), y.cam.size());
        for (std::size_t j = 0; j < x.cam.size(); ++j) {
            camMax = std::max(camMax, double(y.cam[j]));
            camDiff = std::max(camDiff, double(std::abs(x.cam[j] - y.cam[j])));
        }
        for (std::size_t c = 0; c < y.probabilities.size(); ++c)
            probabilityDiff = std::max(probabilityDiff,
                                       double(std::abs(x.probabilities[c] - y.probabilities[c])));
    }
}

}  // namespace

class DenseOrderTest : public QObject {
    Q_OBJECT

    std::unique_ptr<QTemporaryDir> dir_;
    std::unique_ptr<ImageSource> source_;
    std::unique_ptr<Model> model_;
    Recorded plain_;  // the plan's order (no view), as the CLI runs

    // A view of 512² level-0 pixels around the tissue patch nearest the lower-right corner.
    View lowerRight(const SlideAnalysis& a) const {
        const Patch* best = nullptr;
        for (const Patch& p : a.grid.patches)
            if (!best || p.x + p.y > best->x + best->y) best = &p;
        return {best->x + best->width / 2 - 256, best->y + best->height / 2 - 256, 512, 512};
    }
    View upperLeft(const SlideAnalysis& a) const {
        const Patch* best = nullptr;
        for (const Patch& p : a.grid.patches)
            if (!best || p.x + p.y < best->x + best->y) best = &p;
        return {best->x + best->width / 2 - 256, best->y + best->height / 2 - 256, 512, 512};
    }
    std::string fresh(const char* name) const { return dir_->filePath(name).toStdString(); }

private slots:
    void initTestCase() {
        dir_ = std::make_unique<QTemporaryDir>();
        QVERIFY(dir_->isValid());
        demo::DemoSlideOptions options;  // 0.5 µm/px, the demo model's scale
        options.width = options.height = 2048;
        const auto slide = demo::writeDemoSlide(dir_->filePath("slide.tiff").toStdString(),
                                                dir_->filePath("mask.png").toStdString(), options);
        source_ = openImage(slide.path);
        model_ = Model::open(LUCIDA_SOURCE_DIR "/resources/demo/model/demo-smallcnn.pth");
        plain_ = runDense(*source_, *model_, fresh("plain"), {});
        QVERIFY(plain_.analysis.complete());
        QCOMPARE(plain_.analysis.settings.mode, AnalysisMode::Dense);
    }

    // Every patch completes once, after all the tiles its window touches; the view's tiles are
    // taken first, nearest its centre first; the view scope queues only those.
    void scheduleCompletesEachPatchOnceInAnyOrder() {
        std::vector<CellBox> tiles;  // 4 × 4 tiles of 10 × 10 cells
        for (int y = 0; y < 4; ++y)
            for (int x = 0; x < 4; ++x) tiles.push_back({x * 10, y * 10, 10, 10});
        std::vector<std::pair<std::size_t, CellBox>> windows;  // 8-cell windows at a 6-cell step
        for (int y = 0; y + 8 <= 40; y += 6)
            for (int x = 0; x + 8 <= 40; x += 6) windows.push_back({windows.size(), {x, y, 8, 8}});
        DenseSchedule plain(tiles, windows);
        for (std::size_t t = 0; t < tiles.size(); ++t) QCOMPARE(*plain.take(), t);  // plan order

        DenseSchedule s(tiles, windows);
        const std::array<double, 4> view{31, 31, 6, 6};  // inside the lower-right tile
        s.order(view, false);
        QCOMPARE(s.queued(), std::size_t(4));  // the windows in view reach into 4 tiles
        const std::set<std::size_t> needed{10, 11, 14, 15};
        QCOMPARE(*s.take(), std::size_t(15));  // the tile under the view's centre first
        s.order(view, true);
        std::vector<int> completed(windows.size(), 0);
        std::vector<int> released(tiles.size(), 0);
        std::set<std::size_t> run;
        const auto finish = [&](std::size_t t) {
            run.insert(t);
            std::vector<std::size_t> freed;
            for (std::size_t slot : s.finish(t, freed)) {
                ++completed[slot];
                for (std::size_t need : s.tilesOf(slot)) QVERIFY(run.count(need));
            }
            for (std::size_t f : freed) ++released[f];
        };
        finish(15);
        for (int k = 0; k < 3; ++k) {
            const std::size_t t = *s.take();
            QVERIFY2(needed.count(t), "a tile the view does not need came before those it does");
            finish(t);
        }
        s.order(std::array<double, 4>{0, 0, 4, 4}, true);  // the view moves to the top left
        QCOMPARE(*s.take(), std::size_t(0));
        finish(0);
        while (const auto t = s.take()) finish(*t);
        QVERIFY(!s.take());
        for (int c : completed) QCOMPARE(c, 1);
        for (int r : released) QCOMPARE(r, 1);
        QCOMPARE(s.queuedPatches(), std::size_t(0));

        windows.push_back({windows.size(), {36, 36, 8, 8}});  // beyond the tiles
        QVERIFY_THROWS_EXCEPTION(std::logic_error, DenseSchedule(tiles, windows));
    }

    // A view in the lower-right corner: the patches in it are published before any far from it,
    // and every outcome equals the top-to-bottom run's.
    void viewFirstGivesTheSameOutcomes() {
        const Recorded& plain = plain_;
        const View view = lowerRight(plain.analysis);
        const Recorded focused =
            runDense(*source_, *model_, fresh("focused"), [&](std::size_t) { return view; });
        QVERIFY(focused.analysis.complete());
        QVERIFY(focused.batches.size() > 8);

        const auto& grid = focused.analysis.grid;
        std::size_t inViewTotal = 0;
        for (const Patch& p : grid.patches) inViewTotal += inView(p, view);
        QVERIFY(inViewTotal >= 2);
        // Tiles of at most 256 model pixels (= level-0 pixels here): patches completed by a tile
        // the view needs lie within a tile and a patch of it.
        const View near = grown(view, 256 + grid.patchSize);
        std::size_t inViewSeen = 0, farBeforeAllInView = 0;
        for (const auto& batch : focused.batches)
            for (std::size_t i : batch) {
                if (inViewSeen == inViewTotal) break;
                inViewSeen += inView(grid.patches[i], view);
                farBeforeAllInView += !inView(grid.patches[i], near);
            }
        QCOMPARE(inViewSeen, inViewTotal);
        QCOMPARE(farBeforeAllInView, std::size_t(0));
        // The same count top to bottom: far patches come before the view's (the check can fail).
        std::size_t plainSeen = 0, plainFar = 0;
        for (const auto& batch : plain.batches)
            for (std::size_t i : batch) {
                if (plainSeen == inViewTotal) break;
                plainSeen += inView(grid.patches[i], view);
                plainFar += !inView(grid.patches[i], near);
            }
        qInfo(
            "%zu patches, %zu in view; before all of them had heat, %zu far patches had it "
            "top to bottom, %zu view first",
            grid.patches.size(), inViewTotal, plainFar, farBeforeAllInView);
        QVERIFY(plainFar > grid.patches.size() / 4);

        // patches.bin of both runs, read back, and the stitched maps.
        AnalysisSettings s = plain.analysis.settings;
        const auto storedPlain = loadSlideAnalysis(*source_, *model_, s, fresh("plain"));
        const auto storedFocused = loadSlideAnalysis(*source_, *model_, s, fresh("focused"));
        QVERIFY(storedPlain && storedFocused);
        double camDiff = 0, camMax = 0, probabilityDiff = 0;
        compareStored(*storedFocused, *storedPlain, camDiff, camMax, probabilityDiff);
        qInfo("view first against top to bottom: CAM %.2g of max %.3g, probability %.2g", camDiff,
              camMax, probabilityDiff);
        QVERIFY(camMax > 0);
        QVERIFY(camDiff <= 1e-6 * camMax);
        QVERIFY(probabilityDiff <= 1e-6);
        const FloatRaster a = stitchCam(*storedPlain, CamNormalisation::Slide);
        const FloatRaster b = stitchCam(*storedFocused, CamNormalisation::Slide);
        QCOMPARE(a.values.size(), b.values.size());
        double rasterDiff = 0;
        for (std::size_t i = 0; i < a.values.size(); ++i)
            if (!std::isnan(a.values[i]) || !std::isnan(b.values[i]))
                rasterDiff = std::max(rasterDiff, double(std::abs(a.values[i] - b.values[i])));
        QVERIFY(rasterDiff <= 1e-6);
    }

    // In the plan's order the tiles of a row continue each other (DenseCarry): fewer pixels are
    // read and run than with every tile's whole halo (LUCIDA_DENSE_NO_STREAM's plan), and the
    // outcomes are the same to float rounding.
    void streamedRowsGiveTheSameOutcomes() {
        const SlideAnalysis& streamed = plain_.analysis;
        setDenseStreaming(false);
        const Recorded whole = runDense(*source_, *model_, fresh("unstreamed"), {});
        setDenseStreaming(true);
        QVERIFY(whole.analysis.complete());
        qInfo(
            "%zu of %zu tiles streamed (%zu down), %.2f Mpx read; without streaming %zu tiles, "
            "%.2f Mpx",
            streamed.dense.streamedTiles, streamed.dense.tiles, streamed.dense.streamedDown,
            streamed.dense.pixelsRead / 1e6, whole.analysis.dense.tiles,
            whole.analysis.dense.pixelsRead / 1e6);
        QVERIFY(streamed.dense.streamedTiles > streamed.dense.tiles / 4);
        QVERIFY(streamed.dense.streamedDown > 0);  // under the band above, not only along rows
        QCOMPARE(whole.analysis.dense.streamedTiles, std::size_t(0));
        QVERIFY(streamed.dense.pixelsRead < 0.98 * whole.analysis.dense.pixelsRead);
        // Work per trunk step, as computed: the small CNN's first step (3×3, stride 1, padding 1)
        // covers exactly the pixels read; the last at least every patch window once (the grid
        // does not overlap); streaming computes no more at any step (the last step's input starts
        // its own reach before the new cells either way) and less in all.
        const auto& steps = streamed.dense.stepPixels;
        const auto& wholeSteps = whole.analysis.dense.stepPixels;
        QCOMPARE(steps.size(), std::size_t(4));
        QCOMPARE(wholeSteps.size(), std::size_t(4));
        QCOMPARE(steps[0], streamed.dense.pixelsRead);
        QCOMPARE(wholeSteps[0], whole.analysis.dense.pixelsRead);
        QCOMPARE(streamed.settings.overlap, 0.0);
        const double windows = double(streamed.grid.patches.size()) * model_->spec().inputWidth *
                               model_->spec().inputHeight;
        qInfo(
            "computed per step (Mpx): %.3f %.3f %.3f %.3f (whole halos %.3f %.3f %.3f %.3f), "
            "windows %.3f",
            steps[0] / 1e6, steps[1] / 1e6, steps[2] / 1e6, steps[3] / 1e6, wholeSteps[0] / 1e6,
            wholeSteps[1] / 1e6, wholeSteps[2] / 1e6, wholeSteps[3] / 1e6, windows / 1e6);
        QVERIFY(steps.back() >= windows);
        for (std::size_t k = 0; k < steps.size(); ++k) QVERIFY(steps[k] <= wholeSteps[k]);
        QVERIFY(std::accumulate(steps.begin(), steps.end(), 0.0) <
                0.98 * std::accumulate(wholeSteps.begin(), wholeSteps.end(), 0.0));
        double camDiff = 0, camMax = 0, probabilityDiff = 0;
        compareStored(streamed, whole.analysis, camDiff, camMax, probabilityDiff);
        qInfo("streamed against whole halos: CAM %.2g of max %.3g, probability %.2g", camDiff,
              camMax, probabilityDiff);
        QVERIFY(camMax > 0);
        QVERIFY(camDiff <= 1e-5 * camMax);
        QVERIFY(probabilityDiff <= 1e-5);
    }

    // The view moves from the lower right to the upper left after a few tiles: the tiles left
    // are re-ordered at the next tile (one read ahead runs first), nothing runs twice and the
    // outcomes are the same.
    void movingTheViewReordersTheRest() {
        const Recorded& plain = plain_;
        const View first = lowerRight(plain.analysis), second = upperLeft(plain.analysis);
        constexpr std::size_t kMoveAfter = 3;  // batches
        const Recorded moved = runDense(*source_, *model_, fresh("moved"), [&](std::size_t n) {
            return n < kMoveAfter ? first : second;
        });
        QVERIFY(moved.analysis.complete());
        const auto& grid = moved.analysis.grid;
        // Each patch published once.
        std::vector<int> times(grid.patches.size(), 0);
        for (const auto& batch : moved.batches)
            for (std::size_t i : batch) ++times[i];
        for (int t : times) QCOMPARE(t, 1);
        std::size_t inSecond = 0, seen = 0, far = 0;
        for (const Patch& p : grid.patches) inSecond += inView(p, second);
        QVERIFY(inSecond >= 2);
        const View nearSecond = grown(second, 256 + grid.patchSize);
        const View nearFirst = grown(first, 256 + grid.patchSize);
        // After the move (and the tile read ahead before it), until the second view is done,
        // only patches near it.
        for (std::size_t b = kMoveAfter; b < moved.batches.size() && seen < inSecond; ++b)
            for (std::size_t i : moved.batches[b]) {
                seen += inView(grid.patches[i], second);
                far += !inView(grid.patches[i], nearSecond) && !inView(grid.patches[i], nearFirst);
            }
        QCOMPARE(seen, inSecond);
        QCOMPARE(far, std::size_t(0));
        double camDiff = 0, camMax = 0, probabilityDiff = 0;
        compareStored(moved.analysis, plain.analysis, camDiff, camMax, probabilityDiff);
        QVERIFY(camDiff <= 1e-6 * camMax);
        QVERIFY(probabilityDiff <= 1e-6);
    }

    // Live heat's scope: only the tiles the view needs run, then the run waits (idle).
    void viewScopeRunsOnlyWhatTheViewNeeds() {
        const Recorded& plain = plain_;
        const View view = lowerRight(plain.analysis);
        const Recorded live = runDense(
            *source_, *model_, fresh("live"), [&](std::size_t) { return view; }, false);
        QCOMPARE(live.idles, 1);
        const SlideAnalysis& a = live.analysis;
        QVERIFY(!a.complete());
        const View near = grown(view, 256 + a.grid.patchSize);
        std::size_t done = 0;
        for (std::size_t i = 0; i < a.grid.patches.size(); ++i) {
            const Patch& p = a.grid.patches[i];
            if (inView(p, view)) QVERIFY(a.outcomes[i].done);
            if (!a.outcomes[i].done) continue;
            QVERIFY(inView(p, near));
            ++done;
        }
        qInfo("view scope: %zu of %zu patches run", done, a.grid.patches.size());
        QVERIFY(done < a.grid.patches.size() / 2);
    }
};

QTEST_APPLESS_MAIN(DenseOrderTest)
#include "dense_order_test.moc"
