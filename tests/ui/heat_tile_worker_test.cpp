// Heat tiles are made off the GUI thread and only where a result changed them (issue 12): a view's
// paint never makes one (it draws what is cached, coarser levels where a tile is missing, and the
// worker makes the rest); a new result leaves the tiles away from the patches it touched as the
// same cached objects, at every level, and the tiles under them, remade, equal a from-scratch
// render of the new result.
#include "HeatChanges.h"
#include "HeatmapOverlay.h"
#include "ImageDocument.h"
#include "SceneRenderer.h"
#include "SlideView.h"
#include "TileService.h"
#include "ViewWaits.h"
#include "analysis/AnalysisOutputs.h"
#include "fixtures/Fixtures.h"
#include "image/ImageSource.h"

#include <QPainter>
#include <QtTest>

#include <cmath>
#include <limits>
#include <map>
#include <thread>

using namespace lucida;
using namespace lucida::ui;

namespace {

constexpr int kCells = 64;        // a 64 x 64 raster ...
constexpr double kCellSize = 32;  // ... of 32-px cells: a 2048 x 2048 image, 8 x 8 tiles at 1:1
constexpr int kImage = 2048;

std::shared_ptr<FloatRaster> ramp() {
    auto r = std::make_shared<FloatRaster>();
    r->width = r->height = kCells;
    r->cellSize = kCellSize;
    for (int y = 0; y < kCells; ++y)
        for (int x = 0; x < kCells; ++x)
            r->values.push_back(x > 40 && y > 40 ? std::numeric_limits<float>::quiet_NaN()
                                                 : float(x + 2 * y) / (3 * kCells));
    return r;
}

// The raster after a result for the patch over cells [40, 48)²: analysed now, values high.
std::shared_ptr<FloatRaster> withPatch(const FloatRaster& before) {
    auto r = std::make_shared<FloatRaster>(before);
    for (int y = 40; y < 48; ++y)
        for (int x = 40; x < 48; ++x) r->values[std::size_t(y) * kCells + x] = 0.9f;
    return r;
}

ViewGeometry wholeImageAt(double scale) {
    ViewGeometry view;
    view.scale = scale;
    view.centreX = view.centreY = kImage / 2.0;
    view.viewWidth = view.viewHeight = int(std::lround(kImage * scale));
    return view;
}

// The heat layer alone, opaque, off-screen (waits for its tiles).
QImage render(HeatmapOverlay& overlay, double scale) {
    const ViewGeometry view = wholeImageAt(scale);
    QImage canvas(view.viewWidth, view.viewHeight, QImage::Format_ARGB32_Premultiplied);
    canvas.fill(Qt::transparent);
    QPainter painter(&canvas);
    SceneRenderer::paintLayers(painter, {overlay.layers().front()}, view);
    return canvas;
}

// The heat layer as a view paints it: no preparing, no waiting.
QImage paintAsView(HeatmapOverlay& overlay, double scale) {
    const ViewGeometry view = wholeImageAt(scale);
    QImage canvas(view.viewWidth, view.viewHeight, QImage::Format_ARGB32_Premultiplied);
    canvas.fill(Qt::transparent);
    QPainter painter(&canvas);
    painter.setTransform(QTransform());
    overlay.layers().front()->paint(painter, LayerContext::of(view));
    return canvas;
}

bool sameBytes(const PixelBuffer& a, const PixelBuffer& b) {
    return a.width == b.width && a.height == b.height && a.bytes == b.bytes;
}

}  // namespace

class HeatTileWorkerTest : public QObject {
    Q_OBJECT

private slots:
    // A real view: its paints ask, the worker makes; none is made on the GUI thread.
    void guiThreadMakesNoHeatTile() {
        TileService tiles(std::size_t{256} << 20, 2);
        std::shared_ptr<const ImageSource> source = openImage(fixtures::path("slides/aperio.svs"));
        ImageDocument document(source);
        const ImageInfo& info = document.info();
        SlideView view(&document, &tiles);
        HeatmapOverlay overlay;
        overlay.setTileCache(&tiles.cache());
        overlay.setImageSize(QSizeF(double(info.width()), double(info.height())));
        auto heat = std::make_shared<FloatRaster>();
        heat->cellSize = 16;
        heat->width = int(std::ceil(info.width() / 16.0));
        heat->height = int(std::ceil(info.height() / 16.0));
        for (int i = 0; i < heat->width * heat->height; ++i)
            heat->values.push_back(float(i % 97) / 96);
        overlay.setRasters(heat, nullptr);
        connect(&overlay, &HeatmapOverlay::changed, &view, qOverload<>(&QWidget::update));
        view.setOverlay(&overlay);
        view.resize(600, 400);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        view.setScale(1.0);
        view.setCentre(info.width() / 2.0, info.height() / 2.0);

        // The first paint at this place finds no tile and makes none: the view is not complete.
        view.repaint();
        QVERIFY(!overlay.heatComplete());
        QVERIFY(!view.isFullyLoaded());
        QVERIFY(viewtest::waitLoaded(&view));  // the worker's tiles arrive, repaints follow
        QVERIFY(overlay.heatComplete());
        const HeatTiles& made = overlay.shownTiles();
        QVERIFY(made.tilesMade() >= 6);  // 600 x 400 at 1:1: at least 3 x 2 tiles
        const auto makers = made.makerThreads();
        QCOMPARE(makers.size(), std::size_t{1});
        QVERIFY(makers.front() != std::this_thread::get_id());

        // Zoomed out, another level's tiles are missing: the next paint again makes none itself.
        const auto before = made.tilesMade();
        view.setScale(0.5);  // level 1: neither the fitted view's level nor 1:1's
        view.repaint();
        QVERIFY(!overlay.heatComplete());
        QVERIFY(viewtest::waitLoaded(&view));
        QVERIFY(made.tilesMade() > before);
        QCOMPARE(made.makerThreads().size(), std::size_t{1});
        QVERIFY(made.makerThreads().front() != std::this_thread::get_id());
        view.setOverlay(nullptr);
    }

    // Paint never waits: with only a coarser level cached, a view's paint draws it at once.
    void paintDrawsACoarserLevelMeanwhile() {
        HeatmapOverlay overlay;
        overlay.setImageSize(QSizeF(kImage, kImage));
        overlay.setOpacity(1);
        overlay.setRasters(ramp(), nullptr);
        render(overlay, 0.25);  // level 2 cached
        const std::uint64_t made = overlay.shownTiles().tilesMade();
        const QImage meanwhile = paintAsView(overlay, 1.0);
        QVERIFY(!overlay.heatComplete());
        QVERIFY(qAlpha(meanwhile.pixel(300, 300)) > 0);  // the level-2 tile, drawn larger
        overlay.shownTiles().waitIdle();
        QVERIFY(overlay.shownTiles().tilesMade() >= made + 64);  // the worker made level 0
        const QImage done = paintAsView(overlay, 1.0);
        QVERIFY(overlay.heatComplete());
        QVERIFY(done == render(overlay, 1.0));
        QVERIFY(done != meanwhile);
    }

    // A new result: only the tiles over the cells it changed (plus the one-cell reach of the
    // bilinear taps) are remade, at every level; the others are the same objects.
    void aResultRemakesOnlyTheTilesItTouches() {
        TileCache cache(std::size_t{256} << 20);
        HeatmapOverlay overlay;
        overlay.setTileCache(&cache);
        overlay.setImageSize(QSizeF(kImage, kImage));
        overlay.setOpacity(1);
        const auto before = ramp();
        overlay.setRasters(before, nullptr);
        HeatTiles& tiles = overlay.shownTiles();
        struct Level {
            double scale;
            int level, tiles;  // tiles per side
        };
        const Level levels[] = {{1.0, 0, 8}, {0.25, 2, 2}, {1.0 / 64, 6, 1}};
        std::map<std::tuple<int, int, int>, TilePtr> old;
        for (const Level& l : levels) {
            render(overlay, l.scale);
            for (int row = 0; row < l.tiles; ++row)
                for (int col = 0; col < l.tiles; ++col) {
                    TilePtr t = cache.find(tiles.key(l.level, col, row));
                    QVERIFY(t);
                    old[{l.level, col, row}] = t;
                }
        }
        const std::uint64_t madeBefore = tiles.tilesMade();

        const auto after = withPatch(*before);
        overlay.setRasters(after, nullptr);
        tiles.waitIdle();  // the worker compared the two results
        // Touched, worked out by hand: level 0 tile c spans cells [8c, 8c + 8) and reads one
        // more each side, so cells 40..47 reach tiles 4, 5 and 6; level 2 tile c spans
        // [32c, 32c + 32): tile 1; level 6 reads the copy halved once: its one tile.
        const auto touched = [](int level, int col, int row) {
            if (level == 0) return col >= 4 && col <= 6 && row >= 4 && row <= 6;
            if (level == 2) return col == 1 && row == 1;
            return true;
        };
        int survived = 0, stale = 0;
        for (const auto& [where, tile] : old) {
            const auto [level, col, row] = where;
            const HeatTiles::Cached now = tiles.cached(tiles.key(level, col, row));
            if (touched(level, col, row)) {
                QVERIFY(!now.current);
                ++stale;
            } else {
                QVERIFY(now.current);
                QVERIFY(now.tile == tile);  // the same cached object
                ++survived;
            }
        }
        QCOMPARE(stale, 9 + 1 + 1);
        QCOMPARE(survived, 64 - 9 + 4 - 1);
        QCOMPARE(tiles.tilesMarkedStale(), std::uint64_t{11});

        // Drawn again, only the stale ones are remade, and the picture is a fresh overlay's.
        HeatmapOverlay scratch;
        scratch.setImageSize(QSizeF(kImage, kImage));
        scratch.setOpacity(1);
        scratch.setRasters(after, nullptr);
        for (const Level& l : levels) QVERIFY(render(overlay, l.scale) == render(scratch, l.scale));
        QCOMPARE(tiles.tilesMade(), madeBefore + 11);
        for (const auto& [where, tile] : old) {
            const auto [level, col, row] = where;
            const TileKey key = tiles.key(level, col, row);
            const TilePtr now = cache.find(key);
            QVERIFY(now);
            if (touched(level, col, row)) {
                QVERIFY(now != tile);
                QVERIFY(!sameBytes(*now, *tile) || level == 6);
            }
            const TilePtr fresh =
                scratch.shownTiles().fetch(scratch.shownTiles().key(level, col, row)).get();
            QVERIFY(fresh && sameBytes(*now, *fresh));
        }
        QVERIFY(tiles.makerThreads().front() != std::this_thread::get_id());

        // New colours are a new drawing: every tile goes.
        overlay.setColourMap(ColourMap::Viridis);
        QVERIFY(!cache.contains(tiles.key(0, 0, 0)));
        QCOMPARE(cache.tileCount(), std::size_t{0});
    }

    // The comparison itself: counts per block, queries by cell range.
    void changesAreFoundWhereTheyAre() {
        const auto a = ramp();
        const auto b = withPatch(*a);
        const HeatChanges none(*a, *a);
        QVERIFY(none.none());
        QVERIFY(!none.any(0, 0, kCells, kCells));
        const HeatChanges changes(*a, *b);
        QCOMPARE(changes.changedCells(), std::uint64_t{64});  // NaN to a value counts too
        QVERIFY(changes.any(0, 0, kCells, kCells));
        QVERIFY(changes.any(40, 40, 41, 41));
        QVERIFY(!changes.any(0, 0, 40, kCells));
        QVERIFY(!changes.any(48, 0, kCells, kCells));
        QVERIFY(!changes.any(0, 0, kCells, 40));
        const CellRange r = cellsUnderTile(kCellSize, 0, 0, 6, 6, HeatTiles::kTileSize);
        QCOMPARE(r.x0, std::int64_t{47});
        QCOMPARE(r.x1, std::int64_t{57});
    }
};

QTEST_MAIN(HeatTileWorkerTest)
#include "heat_tile_worker_test.moc"
