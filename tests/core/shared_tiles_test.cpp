// The analysis as a client of the tile machinery (issue 12): patch pixels read through the shared
// TileCache/TileLoader equal direct ImageSource reads; tiles a view decoded are reused by the
// analysis (patch reads without a decode, counted), and tiles the analysis decoded serve the view
// without a second decode. The slide is the Aperio fixture; patches come from its level 1
// (downsample 2), the level a view at half scale shows.

#include "analysis/SlideAnalysis.h"
#include "fixtures/Fixtures.h"
#include "image/ImageSource.h"
#include "model/Model.h"
#include "tiles/TileCache.h"
#include "tiles/TileGrid.h"
#include "tiles/TileLoader.h"
#include "tiles/TileRegionReader.h"

#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <set>
#include <thread>
#include <tuple>

namespace {

using namespace lucida;

QString referenceDir() { return QString::fromLocal8Bit(qgetenv("LUCIDA_REFERENCE_DIR")); }

// The reference small CNN at 0.998 µm/px: 128-pixel patches of level 1 of the 0.499 µm/px slide.
QString prepareModel(const QTemporaryDir& dir) {
    const QString model = dir.filePath("cnn.pt");
    QFile::copy(referenceDir() + "/smallcnn.traced.pt", model);
    QFile sidecar(dir.filePath("cnn.json"));
    sidecar.open(QIODevice::WriteOnly);
    sidecar.write(R"({"classes": ["benign", "malignant"], "output": "sigmoid",
                      "input_size": [128, 128], "microns_per_pixel": 0.998})");
    return model;
}

// The patch's rectangle in its level, as the analysis reads it.
Rect levelRect(const ImageInfo& info, const Patch& p) {
    const double ds = info.level(p.level).downsample;
    return {static_cast<std::int64_t>(std::floor(p.x / ds)),
            static_cast<std::int64_t>(std::floor(p.y / ds)),
            static_cast<std::int64_t>(std::lround(p.width / ds)),
            static_cast<std::int64_t>(std::lround(p.height / ds))};
}

bool inside(const Rect& r, const Rect& area) {
    return r.x >= area.x && r.y >= area.y && r.x + r.width <= area.x + area.width &&
           r.y + r.height <= area.y + area.height;
}

// A 600 x 400 view at half scale (level 1 drawn) centred on the slide's tissue.
ViewGeometry halfScaleView() {
    ViewGeometry v;
    v.centreX = 1500;
    v.centreY = 1000;
    v.scale = 0.5;
    v.viewWidth = 600;
    v.viewHeight = 400;
    return v;
}

std::array<double, 4> focusOf(const ViewGeometry& v) {
    const RectF r = v.visibleImageRect();
    return {r.x, r.y, r.width, r.height};
}

// The patches in view only, until all of them are done.
AnalysisCallbacks viewOnly(const ViewGeometry& view, TileLoader* tiles,
                           std::shared_ptr<std::atomic<bool>> stop) {
    AnalysisCallbacks c;
    c.tiles = tiles;
    c.wholeSlide = [] { return false; };
    c.focus = [f = focusOf(view)] { return std::optional<std::array<double, 4>>(f); };
    c.onIdle = [stop](const SlideAnalysis&) { *stop = true; };
    c.cancelled = [stop] { return stop->load(); };
    return c;
}

// Asks the loader for `keys` as a view does and waits until it has nothing left to do.
void loadAsView(TileLoader& loader, const std::shared_ptr<const ImageSource>& source,
                const std::vector<TileKey>& keys) {
    loader.request(loader.newClient(), source, keys, nullptr);
    auto allCached = [&] {
        return std::all_of(keys.begin(), keys.end(),
                           [&](const TileKey& k) { return loader.cache().contains(k); });
    };
    for (int i = 0; i < 2000 && !(allCached() && loader.pendingCount() == 0); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    QVERIFY(allCached());
    QCOMPARE(loader.pendingCount(), std::size_t{0});
}

// The distinct level tiles the done patches of `a` cover.
std::set<std::tuple<int, std::int64_t, std::int64_t>> tilesOfDonePatches(const ImageSource& s,
                                                                         const SlideAnalysis& a) {
    std::set<std::tuple<int, std::int64_t, std::int64_t>> tiles;
    for (std::size_t i = 0; i < a.outcomes.size(); ++i) {
        if (!a.outcomes[i].done) continue;
        const Rect r = levelRect(s.info(), a.grid.patches[i]);
        for (const TileKey& k :
             tilesInRect(s.info(), s.id(), 0, a.grid.patches[i].level,
                         {double(r.x), double(r.y), double(r.width), double(r.height)}, 256))
            tiles.insert({k.level, k.col, k.row});
    }
    return tiles;
}

}  // namespace

class SharedTilesTest : public QObject {
    Q_OBJECT

private slots:
    void initTestCase() {
        slide_ = openImage(fixtures::path("slides/aperio.svs"));
        model_ = Model::open(prepareModel(dir_).toStdString());
    }

    // Rectangles of every kind (tile-aligned, across tile corners, across the level's edge and
    // wholly beyond it) read from tiles equal the source's own reads, byte for byte; a second
    // read of one decodes nothing.
    void regionReadsEqualDirectReads() {
        TileCache cache;
        TileLoader loader(cache, 2);
        TileRegionReader reader(*slide_, loader);
        const std::vector<std::pair<int, Rect>> reads = {
            {0, {0, 0, 256, 256}},      {0, {200, 300, 224, 224}}, {1, {383, 129, 128, 128}},
            {1, {1450, 950, 128, 128}}, {2, {700, 450, 100, 100}}, {0, {-20, -10, 64, 64}},
            {1, {1400, 990, 300, 300}}, {0, {2990, 1990, 40, 40}}, {3, {0, 0, 375, 250}}};
        for (const auto& [level, rect] : reads) {
            QVERIFY(TileRegionReader::readsFromTiles(slide_->info(), level));
            const PixelBuffer direct = slide_->readRegion(level, rect);
            const PixelBuffer tiled = reader.read(level, rect, 0);
            QCOMPARE(tiled.width, direct.width);
            QCOMPARE(tiled.height, direct.height);
            QVERIFY2(
                tiled.bytes == direct.bytes,
                qPrintable(QString("level %1 at (%2, %3)").arg(level).arg(rect.x).arg(rect.y)));
        }
        const RegionReads first = reader.counts();
        QCOMPARE(first.direct, std::size_t{0});
        QVERIFY(first.decoded > 0);
        QVERIFY(first.tileMisses > 0);
        QCOMPARE(reader.read(1, {383, 129, 128, 128}, 0).bytes,
                 slide_->readRegion(1, {383, 129, 128, 128}).bytes);
        QCOMPARE(reader.counts().fromCache, first.fromCache + 1);
        QCOMPARE(reader.counts().tileMisses, first.tileMisses);

        // A level whose downsample is not whole is read directly (OpenSlide rounds its corner).
        ImageInfo odd;
        odd.levels = {{1001, 1001, 1.0}, {400, 400, 2.5025}};
        QVERIFY(TileRegionReader::readsFromTiles(odd, 0));
        QVERIFY(!TileRegionReader::readsFromTiles(odd, 1));
    }

    // A view at the analysis's level loads its tiles; a live analysis of that view then reads
    // the patches inside them without a decode, and the model sees exactly what it sees with a
    // loader of its own.
    void analysisReusesTheViewsTiles() {
        TileCache cache;
        TileLoader loader(cache, 2);
        const ViewGeometry view = halfScaleView();
        const TilePlan plan = planTiles(slide_->info(), slide_->id(), 0, view);
        QCOMPARE(plan.level, 1);
        loadAsView(loader, slide_, plan.visible);
        Rect loaded = tileRect(slide_->info(), plan.visible.front());
        for (const TileKey& k : plan.visible) {
            const Rect r = tileRect(slide_->info(), k);
            const std::int64_t x1 = std::max(loaded.x + loaded.width, r.x + r.width);
            const std::int64_t y1 = std::max(loaded.y + loaded.height, r.y + r.height);
            loaded.x = std::min(loaded.x, r.x);
            loaded.y = std::min(loaded.y, r.y);
            loaded.width = x1 - loaded.x;
            loaded.height = y1 - loaded.y;
        }
        const std::uint64_t decodedByView = loader.stats().decoded;
        QCOMPARE(decodedByView, std::uint64_t(plan.visible.size()));

        QTemporaryDir shared, own;
        AnalysisSettings settings;
        settings.batchSize = 8;
        settings.mode = AnalysisMode::Patch;  // the patches' reads are what is counted
        const SlideAnalysis a =
            analyseSlide(*slide_, *model_, settings, shared.path().toStdString(),
                         viewOnly(view, &loader, std::make_shared<std::atomic<bool>>(false)));
        std::size_t done = 0, inLoaded = 0;
        for (std::size_t i = 0; i < a.outcomes.size(); ++i) {
            if (!a.outcomes[i].done) continue;
            ++done;
            const Rect r = levelRect(slide_->info(), a.grid.patches[i]);
            QCOMPARE(a.grid.patches[i].level, 1);
            inLoaded += inside(r, loaded);
        }
        QVERIFY2(inLoaded >= 4, qPrintable(QString::number(inLoaded)));
        QCOMPARE(a.reads.fromCache + a.reads.decoded, done);
        QCOMPARE(a.reads.direct, std::size_t{0});
        // Every patch inside the view's tiles was read without a decode: decodes saved.
        QVERIFY2(
            a.reads.fromCache >= inLoaded,
            qPrintable(QString("%1 from cache, %2 inside").arg(a.reads.fromCache).arg(inLoaded)));
        // The loader decoded exactly the patches' tiles the view had not: each once.
        std::size_t notInView = 0;
        for (const auto& [level, col, row] : tilesOfDonePatches(*slide_, a))
            notInView += std::none_of(plan.visible.begin(), plan.visible.end(), [&](auto& k) {
                return k.level == level && k.col == col && k.row == row;
            });
        QCOMPARE(loader.stats().decoded, decodedByView + notInView);
        QVERIFY(a.reads.tileMisses >= notInView);

        // The same patches with the run's own loader: the same maps and probabilities.
        const SlideAnalysis b =
            analyseSlide(*slide_, *model_, settings, own.path().toStdString(),
                         viewOnly(view, nullptr, std::make_shared<std::atomic<bool>>(false)));
        QCOMPARE(b.doneCount(), done);
        QCOMPARE(b.reads.fromCache + b.reads.decoded, done);
        for (std::size_t i = 0; i < a.outcomes.size(); ++i) {
            QCOMPARE(b.outcomes[i].done, a.outcomes[i].done);
            if (!a.outcomes[i].done) continue;
            QCOMPARE(b.outcomes[i].probabilities, a.outcomes[i].probabilities);
            QCOMPARE(b.outcomes[i].cam, a.outcomes[i].cam);
        }
    }

    // The reverse: the analysis reads first, then a view over the same place finds every tile
    // the patches covered in the cache and decodes none of them.
    void viewReusesTheAnalysisTiles() {
        TileCache cache;
        TileLoader loader(cache, 2);
        const ViewGeometry view = halfScaleView();
        QTemporaryDir results;
        AnalysisSettings settings;
        settings.batchSize = 8;
        settings.mode = AnalysisMode::Patch;  // the patches' reads are what is counted
        const SlideAnalysis a =
            analyseSlide(*slide_, *model_, settings, results.path().toStdString(),
                         viewOnly(view, &loader, std::make_shared<std::atomic<bool>>(false)));
        QVERIFY(a.doneCount() > 0);
        QCOMPARE(a.reads.fromCache + a.reads.decoded, a.doneCount());
        const std::uint64_t decodedByAnalysis = loader.stats().decoded;
        QCOMPARE(decodedByAnalysis, std::uint64_t(tilesOfDonePatches(*slide_, a).size()));
        QVERIFY(a.reads.tileMisses >= decodedByAnalysis);

        // The view's tiles that some analysed patch overlaps: all cached.
        const TilePlan plan = planTiles(slide_->info(), slide_->id(), 0, view);
        std::vector<TileKey> covered;
        for (const TileKey& k : plan.visible) {
            const Rect t = tileRect(slide_->info(), k);
            for (std::size_t i = 0; i < a.outcomes.size(); ++i) {
                const Rect p = levelRect(slide_->info(), a.grid.patches[i]);
                if (a.outcomes[i].done && p.x < t.x + t.width && t.x < p.x + p.width &&
                    p.y < t.y + t.height && t.y < p.y + p.height) {
                    covered.push_back(k);
                    break;
                }
            }
        }
        QVERIFY2(covered.size() >= 4, qPrintable(QString::number(covered.size())));
        for (const TileKey& k : covered) QVERIFY(cache.contains(k));
        loadAsView(loader, slide_, covered);
        QCOMPARE(loader.stats().decoded, decodedByAnalysis);  // nothing decoded twice
        // And what the view draws is what the slide holds.
        for (const TileKey& k : covered)
            QCOMPARE(cache.find(k)->bytes,
                     slide_->readRegion(1, tileRect(slide_->info(), k)).bytes);
    }

private:
    QTemporaryDir dir_;
    std::shared_ptr<ImageSource> slide_;
    std::unique_ptr<Model> model_;
};

QTEST_GUILESS_MAIN(SharedTilesTest)
#include "shared_tiles_test.moc"
