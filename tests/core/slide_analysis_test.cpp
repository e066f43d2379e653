// Whole-slide analysis on a real-texture slide (the ihc.png fixture as an Aperio pyramid): stored
// per-patch results against the engine run on each patch alone, stitching, resume and reuse, and
// the outputs read back by independent readers (libtiff for floats, OpenSlide for the heatmaps).

#include "analysis/AnalysisOutputs.h"
#include "analysis/SlideAnalysis.h"
#include "cam/Explainer.h"
#include "fixtures/Fixtures.h"
#include "image/ImageSource.h"
#include "model/Model.h"
#include "model/ModelError.h"
#include "model/Preprocess.h"

#include <tiffio.h>

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <set>
#include <thread>

namespace {

QString referenceDir() { return QString::fromLocal8Bit(qgetenv("LUCIDA_REFERENCE_DIR")); }

// The reference small CNN (binary, input 128) declared for 0.998 µm/px: patches of 256 level-0
// pixels on the 0.499 µm/px slide, read from the pyramid's level at downsample 2.
QString prepareModel(const QTemporaryDir& dir) {
    const QString model = dir.filePath("cnn.pt");
    QFile::copy(referenceDir() + "/smallcnn.traced.pt", model);
    QFile sidecar(dir.filePath("cnn.json"));
    sidecar.open(QIODevice::WriteOnly);
    sidecar.write(R"({"classes": ["benign", "malignant"], "output": "sigmoid",
                      "input_size": [128, 128], "microns_per_pixel": 0.998})");
    return model;
}

std::vector<float> readFloatTiff(const QString& path, int& width, int& height) {
    TIFF* tif = TIFFOpen(path.toLocal8Bit().constData(), "r");
    if (!tif) return {};
    std::uint32_t w = 0, h = 0, tw = 0, th = 0;
    std::uint16_t format = 0;
    TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w);
    TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h);
    TIFFGetField(tif, TIFFTAG_TILEWIDTH, &tw);
    TIFFGetField(tif, TIFFTAG_TILELENGTH, &th);
    TIFFGetField(tif, TIFFTAG_SAMPLEFORMAT, &format);
    std::vector<float> values(static_cast<std::size_t>(w) * h);
    std::vector<float> tile(static_cast<std::size_t>(tw) * th);
    for (std::uint32_t y = 0; y < h; y += th)
        for (std::uint32_t x = 0; x < w; x += tw) {
            TIFFReadTile(tif, tile.data(), x, y, 0, 0);
            for (std::uint32_t j = 0; j < th && y + j < h; ++j)
                for (std::uint32_t i = 0; i < tw && x + i < w; ++i)
                    values[(y + j) * w + x + i] = tile[j * tw + i];
        }
    TIFFClose(tif);
    width = static_cast<int>(w);
    height = static_cast<int>(h);
    return format == SAMPLEFORMAT_IEEEFP ? values : std::vector<float>{};
}

}  // namespace

class SlideAnalysisTest : public QObject {
    Q_OBJECT

private slots:
    void initTestCase() {
        slide_ = lucida::openImage(fixtures::path("slides/aperio.svs"));
        model_ = lucida::Model::open(prepareModel(dir_).toStdString());
    }

    // Every stored outcome is what the engine gives for that patch read on its own.
    void outcomesMatchTheEngine() {
        QTemporaryDir results;
        lucida::AnalysisSettings settings;
        settings.mode = lucida::AnalysisMode::Patch;  // per patch: what this suite checks
        settings.batchSize = 8;
        const auto a =
            lucida::analyseSlide(*slide_, *model_, settings, results.path().toStdString());
        QVERIFY(a.complete());
        QCOMPARE(a.grid.patchSize, 256.0);
        QCOMPARE(a.grid.columns, 12);  // ceil(3000 / 256)
        QCOMPARE(a.grid.rows, 8);
        QVERIFY(a.grid.patches.size() > 10);
        QCOMPARE(a.explainedClass, 1);

        lucida::ExplainOptions options;
        options.classIndex = 1;
        options.layer = a.layer;
        double worstP = 0, worstMap = 0;
        for (std::size_t i = 0; i < a.grid.patches.size(); i += 5) {
            const auto& p = a.grid.patches[i];
            // The level the grid chose (level 1, downsample 2: no resizing needed).
            const double ds = slide_->info().level(p.level).downsample;
            QCOMPARE(ds, 2.0);
            lucida::PixelBuffer pixels =
                slide_->readRegion(p.level, {static_cast<std::int64_t>(p.x / ds),
                                             static_cast<std::int64_t>(p.y / ds), 128, 128});
            for (std::size_t k = 0; k + 3 < pixels.bytes.size(); k += 4)
                if (pixels.bytes[k + 3] == 0)
                    pixels.bytes[k] = pixels.bytes[k + 1] = pixels.bytes[k + 2] =
                        pixels.bytes[k + 3] = 255;
            const auto e =
                lucida::explain(*model_, lucida::preprocess(pixels, model_->spec()), options)[0];
            const auto& o = a.outcomes[i];
            worstP = std::max(worstP, double(std::abs(e.probabilities[1] - o.probabilities[1])));
            float peak = 0;
            for (float v : e.map.data) peak = std::max(peak, std::abs(v));
            for (std::size_t k = 0; k < e.map.data.size(); ++k)
                worstMap = std::max(
                    worstMap, double(std::abs(e.map.data[k] - o.cam[k]) / std::max(peak, 1e-6f)));
        }
        qInfo("max probability difference %.3g, map difference %.3g of the map max", worstP,
              worstMap);
        QVERIFY(worstP <= 1e-5);
        QVERIFY(worstMap <= 1e-4);

        // Stitched without overlap: each cell is its patch's value on the slide-wide scale.
        float low = 0, high = 0;
        const auto cam = lucida::stitchCam(a, lucida::CamNormalisation::Slide, &low, &high);
        QCOMPARE(cam.cellSize, 256.0 / a.camWidth);
        const auto& p = a.grid.patches[a.grid.patches.size() / 2];
        const auto& o = a.outcomes[a.grid.patches.size() / 2];
        for (int y = 0; y < a.camHeight; ++y)
            for (int x = 0; x < a.camWidth; ++x) {
                const float expected = (o.cam[y * a.camWidth + x] - low) / (high - low);
                QVERIFY(std::abs(cam.at(p.column * a.camWidth + x, p.row * a.camHeight + y) -
                                 expected) < 1e-5);
            }
        const auto probability = lucida::probabilityRaster(a, 1);
        QCOMPARE(probability.at(p.column, p.row), o.probabilities[1]);

        // Overlap 0.5: no seams — where patches overlap the blend lies between their values,
        // and the map stays continuous (no jump bigger than any one patch has inside itself).
        settings.overlap = 0.5;
        const auto overlapped =
            lucida::analyseSlide(*slide_, *model_, settings, results.path().toStdString());
        QCOMPARE(overlapped.grid.stride, 128.0);
        const auto blended = lucida::stitchCam(overlapped, lucida::CamNormalisation::Slide);
        for (float v : blended.values) QVERIFY(std::isnan(v) || (v >= -1e-6 && v <= 1 + 1e-6));
    }

    // A second run reuses everything; an interrupted run resumes where it stopped.
    void reuseAndResume() {
        QTemporaryDir results;
        lucida::AnalysisSettings settings;
        settings.mode = lucida::AnalysisMode::Patch;  // per patch: what this suite checks
        settings.batchSize = 4;
        int batches = 0;
        lucida::AnalysisCallbacks stopEarly;
        stopEarly.cancelled = [&] { return batches >= 2; };
        stopEarly.onProgress = [&](const lucida::AnalysisProgress&) { ++batches; };
        const auto partial = lucida::analyseSlide(*slide_, *model_, settings,
                                                  results.path().toStdString(), stopEarly);
        QCOMPARE(partial.doneCount(), std::size_t(8));
        QVERIFY(!partial.complete());

        // A torn record at the end (a kill mid-write) is dropped, not misread.
        QFile store(QString::fromStdString(partial.resultsDir) + "/patches.bin");
        QVERIFY(store.open(QIODevice::Append));
        store.write("\x05\x00\x00\x00garbage", 11);
        store.close();

        std::size_t firstDone = 0, loadedDone = 0;
        int loadedCalls = 0;
        lucida::AnalysisCallbacks watch;
        watch.onLoaded = [&](const lucida::SlideAnalysis& a) {
            ++loadedCalls;
            loadedDone = a.doneCount();
            QCOMPARE(firstDone, std::size_t(0));  // before any batch
        };
        watch.onProgress = [&](const lucida::AnalysisProgress& p) {
            if (!firstDone) firstDone = p.done;
        };
        const auto resumed =
            lucida::analyseSlide(*slide_, *model_, settings, results.path().toStdString(), watch);
        QCOMPARE(resumed.reused, std::size_t(8));
        QCOMPARE(loadedCalls, 1);
        QCOMPARE(loadedDone, std::size_t(8));  // what is stored, shown before inference
        QCOMPARE(firstDone, std::size_t(12));  // 8 reused + the first new batch of 4
        QVERIFY(resumed.complete());
        for (std::size_t i = 0; i < 8; ++i)
            QCOMPARE(resumed.outcomes[i].probabilities, partial.outcomes[i].probabilities);

        // Everything cached: no inference at all, the stored results come back.
        int progressCalls = 0;
        lucida::AnalysisCallbacks count;
        count.onProgress = [&](const lucida::AnalysisProgress& p) {
            ++progressCalls;
            QCOMPARE(p.done, p.total);
        };
        const auto again =
            lucida::analyseSlide(*slide_, *model_, settings, results.path().toStdString(), count);
        QCOMPARE(again.reused, again.outcomes.size());
        QCOMPARE(progressCalls, 1);
        const auto loaded =
            lucida::loadSlideAnalysis(*slide_, *model_, settings, results.path().toStdString());
        QVERIFY(loaded.has_value());
        QVERIFY(loaded->complete());

        // Another class is another key: nothing reused.
        settings.classIndex = 0;
        QVERIFY(
            !lucida::loadSlideAnalysis(*slide_, *model_, settings, results.path().toStdString()));
    }

    // View scope: only the patches in view are run; requests that leave it are cancelled and
    // counted (each once, decoded ones too); at idle a pan queues the new view; then the whole
    // slide when the scope widens.
    void viewScopeCancelsStaleRequests() {
        QTemporaryDir results;
        lucida::AnalysisSettings settings;
        settings.mode = lucida::AnalysisMode::Patch;  // per patch: what this suite checks
        settings.batchSize = 2;
        std::array<double, 4> view{2300, 1500, 700, 500};
        const std::array<double, 4> firstView = view, secondView{0, 0, 600, 400};
        bool whole = false;
        int batches = 0, idles = 0;
        lucida::AnalysisProgress last;
        lucida::AnalysisCallbacks callbacks;
        callbacks.focus = [&] { return std::optional<std::array<double, 4>>(view); };
        callbacks.wholeSlide = [&] { return whole; };
        callbacks.onProgress = [&](const lucida::AnalysisProgress& p) { last = p; };
        callbacks.onBatch = [&](const lucida::SlideAnalysis&) {
            if (++batches == 1) view = secondView;  // the user pans after the first batch
        };
        std::size_t cancelledAtIdle = 0, doneAtIdle = 0;
        callbacks.onIdle = [&](const lucida::SlideAnalysis& a) {
            ++idles;
            QVERIFY(last.idle && !last.wholeSlide && last.queued == 0);
            cancelledAtIdle = last.cancelled;
            doneAtIdle = a.doneCount();
            whole = true;  // "Analyse slide"
        };
        const auto a = lucida::analyseSlide(*slide_, *model_, settings,
                                            results.path().toStdString(), callbacks);
        QVERIFY(a.complete());
        QCOMPARE(idles, 1);
        auto inView = [&](std::size_t i, const std::array<double, 4>& v) {
            const auto& p = a.grid.patches[i];
            return p.x < v[0] + v[2] && p.x + p.width > v[0] && p.y < v[1] + v[3] &&
                   p.y + p.height > v[1];
        };
        std::size_t inFirst = 0, inSecond = 0;
        for (std::size_t i = 0; i < a.outcomes.size(); ++i) {
            inFirst += inView(i, firstView);
            inSecond += inView(i, secondView);
        }
        // At idle: the first batch (2 patches of the first view) and all of the second view were
        // done; every other request of the first view was cancelled.
        QCOMPARE(doneAtIdle, 2 + inSecond);
        QCOMPARE(cancelledAtIdle, inFirst - 2);
        QCOMPARE(last.cancelled, cancelledAtIdle);  // widening cancels nothing
        QVERIFY(last.wholeSlide && last.done == last.total);
    }

    // An idle live run (view scope, all in view done) sleeps until its caller tells it of a
    // change (AnalysisWake), asking its callbacks nothing meanwhile; a cancel then ends it.
    void idleRunSleepsUntilWoken() {
        QTemporaryDir results;
        lucida::AnalysisSettings settings;
        settings.mode = lucida::AnalysisMode::Patch;  // per patch: what this suite checks
        settings.batchSize = 2;
        lucida::AnalysisWake wake;
        std::atomic<bool> cancel{false};
        std::atomic<int> asked{0}, askedAtIdle{-1};
        std::thread waker;
        lucida::AnalysisCallbacks callbacks;
        callbacks.wake = &wake;
        callbacks.focus = [] { return std::optional<std::array<double, 4>>({0, 0, 600, 400}); };
        callbacks.wholeSlide = [&] {
            ++asked;
            return false;
        };
        callbacks.cancelled = [&] { return cancel.load(); };
        callbacks.onIdle = [&](const lucida::SlideAnalysis&) {
            askedAtIdle = asked.load();
            waker = std::thread([&] {
                std::this_thread::sleep_for(std::chrono::milliseconds(300));
                cancel = true;
                wake.notify();
            });
        };
        const auto a = lucida::analyseSlide(*slide_, *model_, settings,
                                            results.path().toStdString(), callbacks);
        if (waker.joinable()) waker.join();
        QVERIFY(askedAtIdle >= 0);
        QVERIFY(!a.complete());
        // Polling every 20 ms would have asked about 15 times while the waker slept.
        QVERIFY2(asked - askedAtIdle <= 1, qPrintable(QString::number(asked - askedAtIdle)));
    }

    // The analysis does what is on screen first, and follows the view when it moves.
    void followsTheView() {
        QTemporaryDir results;
        lucida::AnalysisSettings settings;
        settings.mode = lucida::AnalysisMode::Patch;  // per patch: what this suite checks
        settings.batchSize = 4;
        std::array<double, 4> view{2300, 1500, 700, 500};  // bottom-right corner
        std::vector<std::vector<std::size_t>> batches;
        std::size_t seen = 0;
        lucida::AnalysisCallbacks callbacks;
        callbacks.focus = [&] { return std::optional<std::array<double, 4>>(view); };
        callbacks.onBatch = [&](const lucida::SlideAnalysis& a) {
            std::vector<std::size_t> now;
            for (std::size_t i = 0; i < a.outcomes.size(); ++i)
                if (a.outcomes[i].done) now.push_back(i);
            std::vector<std::size_t> added;
            std::set_difference(now.begin(), now.end(), batchesFlat_.begin(), batchesFlat_.end(),
                                std::back_inserter(added));
            batchesFlat_ = now;
            batches.push_back(added);
            if (++seen == 3) view = {0, 0, 600, 400};  // the user pans to the top left
        };
        batchesFlat_.clear();
        const auto a = lucida::analyseSlide(*slide_, *model_, settings,
                                            results.path().toStdString(), callbacks);
        QVERIFY(a.complete());
        auto inView = [&](std::size_t i, const std::array<double, 4>& v) {
            const auto& p = a.grid.patches[i];
            return p.x < v[0] + v[2] && p.x + p.width > v[0] && p.y < v[1] + v[3] &&
                   p.y + p.height > v[1];
        };
        // The first batch lies in the first view; soon after the pan, batches lie in the new one
        // (the batches already decoded ahead — at most 3 — finish first).
        for (std::size_t i : batches[0]) QVERIFY(inView(i, {2300, 1500, 700, 500}));
        bool followed = false;
        for (std::size_t b = 3; b < std::min<std::size_t>(batches.size(), 8); ++b) {
            bool all = !batches[b].empty();
            for (std::size_t i : batches[b]) all = all && inView(i, {0, 0, 600, 400});
            followed = followed || all;
        }
        QVERIFY(followed);
    }

    // Photos and MRI: a model without a physical scale on an image without one sees the whole
    // image resized to its input, exactly as `lucida-cli explain` feeds it; each slice of a
    // series is its own analysis. The stitched raster keeps the map's cells (not square on a 4:3
    // photo) at a quarter of the shorter cell side.
    void singleImagesAndSlices() {
        QTemporaryDir dir;
        const QString modelPath = dir.filePath("photo.pt");
        QVERIFY(QFile::copy(referenceDir() + "/smallcnn.traced.pt", modelPath));
        QFile sidecar(dir.filePath("photo.json"));
        QVERIFY(sidecar.open(QIODevice::WriteOnly));
        sidecar.write(R"({"classes": ["benign", "malignant"], "output": "sigmoid",
                          "input_size": [128, 128]})");
        sidecar.close();
        const auto model = lucida::Model::open(modelPath.toStdString());
        lucida::AnalysisSettings settings;
        settings.mode = lucida::AnalysisMode::Patch;  // per patch: what this suite checks
        settings.method = "gradcam";
        auto engine = [&](const lucida::ImageSource& image, const lucida::SlideAnalysis& a,
                          int slice) {
            lucida::ExplainOptions o;
            o.method = "gradcam";
            o.classIndex = a.explainedClass;
            o.layer = a.layer;
            return lucida::explain(
                *model,
                lucida::preprocess(lucida::readWholeImage(image, 128, 128, slice), model->spec()),
                o)[0];
        };

        const auto photo = lucida::openImage(fixtures::path("raster/photo_8000x6000.jpg"));
        QVERIFY(lucida::usesWholeImage(photo->info(), model->spec(), lucida::ImageFit::Auto));
        QVERIFY(!lucida::usesWholeImage(slide_->info(), model->spec(), lucida::ImageFit::Auto));
        QVERIFY(!lucida::usesWholeImage(photo->info(), model_->spec(), lucida::ImageFit::Auto));
        QTemporaryDir results;
        const auto a = lucida::analyseSlide(*photo, *model, settings, results.path().toStdString());
        QVERIFY(a.grid.wholeImage && a.complete() && a.tissue.mask.empty());
        QCOMPARE(a.outcomes.size(), std::size_t{1});
        QCOMPARE(a.grid.patches[0].width, 8000.0);
        QCOMPARE(a.grid.patches[0].height, 6000.0);
        const auto e = engine(*photo, a, 0);
        QVERIFY(a.outcomes[0].probabilities == e.probabilities);
        QVERIFY(a.outcomes[0].cam == e.map.data);
        const int w = a.camWidth, h = a.camHeight;
        QCOMPARE(w, int(e.map.size(1)));

        float low = 0, high = 0;
        const auto raster = lucida::stitchCam(a, lucida::CamNormalisation::Slide, &low, &high);
        const auto [mn, mx] = std::minmax_element(e.map.data.begin(), e.map.data.end());
        QCOMPARE(low, *mn);
        QCOMPARE(high, *mx);
        QCOMPARE(raster.cellSize, std::min(8000.0 / w, 6000.0 / h) / 4);
        QVERIFY(raster.width * raster.cellSize >= 8000 &&
                (raster.width - 1) * raster.cellSize < 8000);
        QVERIFY(raster.height * raster.cellSize >= 6000 &&
                (raster.height - 1) * raster.cellSize < 6000);
        // Every map cell covers its own rectangle of the photo: raster pixels whose centres lie
        // in cell (i, j) hold that cell's value, normalised.
        int checked = 0;
        for (int j = 0; j < h; ++j)
            for (int i = 0; i < w; ++i) {
                const double x0 = i * 8000.0 / w, x1 = (i + 1) * 8000.0 / w;
                const double y0 = j * 6000.0 / h, y1 = (j + 1) * 6000.0 / h;
                const float expected = (e.map.data[j * w + i] - low) / (high - low);
                for (int y = 0; y < raster.height; ++y) {
                    const double cy = (y + 0.5) * raster.cellSize;
                    if (cy < y0 || cy >= y1) continue;
                    for (int x = 0; x < raster.width; ++x) {
                        const double cx = (x + 0.5) * raster.cellSize;
                        if (cx < x0 || cx >= x1) continue;
                        QCOMPARE(raster.at(x, y), expected);
                        ++checked;
                    }
                }
            }
        QVERIFY(checked > w * h * 8);
        const auto probability = lucida::probabilityRaster(a, a.explainedClass);
        QCOMPARE(probability.width, 1);
        QCOMPARE(probability.at(0, 0), e.probabilities[a.explainedClass]);

        // Sliding patches when asked: 128-pixel squares at the photo's own pixels.
        lucida::AnalysisSettings patches = settings;
        patches.fit = lucida::ImageFit::Patches;
        patches.detectTissue = false;
        const auto plan =
            lucida::loadSlideAnalysis(*photo, *model, patches, results.path().toStdString());
        QVERIFY(!plan);  // another key: nothing stored for it
        const auto grid = lucida::planPatchGrid(photo->info(), {128, {}, {}, 0, 0, false});
        QCOMPARE(grid.patches.size(), std::size_t{63 * 47});

        // An MRI with 3 frames: each slice its own analysis, each the engine on that slice.
        const auto mr = lucida::openImage(fixtures::path("dicom/MR_small_3frame.dcm"));
        QCOMPARE(mr->info().sliceCount, 3);
        std::vector<std::vector<float>> maps;
        std::set<std::string> keys;
        for (int slice = 0; slice < 3; ++slice) {
            settings.slice = slice;
            settings.batchSize = slice == 2 ? 0 : 16;  // 0: chosen to fit the free memory
            const auto s =
                lucida::analyseSlide(*mr, *model, settings, results.path().toStdString());
            QVERIFY(s.grid.wholeImage && s.complete());
            QCOMPARE(s.reused, std::size_t{0});  // one results folder, many images: no mix-up
            const auto es = engine(*mr, s, slice);
            QVERIFY(s.outcomes[0].cam == es.map.data);
            QVERIFY(s.outcomes[0].probabilities == es.probabilities);
            maps.push_back(s.outcomes[0].cam);
            keys.insert(s.key);
        }
        QCOMPARE(keys.size(), std::size_t{3});
        QVERIFY(maps[0] != maps[1] || maps[1] != maps[2]);
        settings.slice = 3;
        QVERIFY_THROWS_EXCEPTION(
            std::invalid_argument,
            lucida::analyseSlide(*mr, *model, settings, results.path().toStdString()));
    }

    // Top regions are connected areas (8-connected patches >= threshold), one entry each with
    // bounds, area, peak and peak location, highest peak first, then the largest; patches not
    // done do not count.
    void regionsAreConnectedAreas() {
        lucida::SlideAnalysis a;
        a.grid.patchSize = a.grid.stride = 100;
        a.grid.columns = 6;
        a.grid.rows = 4;
        for (int row = 0; row < 4; ++row)
            for (int column = 0; column < 6; ++column)
                a.grid.patches.push_back({column, row, column * 100.0, row * 100.0, 100, 100, 0});
        a.classes = {"benign", "malignant"};
        a.explainedClass = 1;
        a.outcomes.resize(a.grid.patches.size());
        auto set = [&](int column, int row, float p, bool done = true) {
            auto& o = a.outcomes[static_cast<std::size_t>(row * 6 + column)];
            o.done = done;
            o.probabilities = {1 - p, p};
        };
        for (int row = 0; row < 4; ++row)
            for (int column = 0; column < 6; ++column) set(column, row, 0.1f);
        set(0, 0, 0.9f);  // with (1, 1): one region, diagonal neighbours
        set(1, 1, 0.7f);
        set(4, 0, 0.95f);         // alone
        set(3, 3, 0.99f, false);  // not done: not a region
        set(4, 2, 0.6f);          // one region of two with the same peak …
        set(5, 3, 0.6f);
        set(2, 3, 0.6f);  // … ranked before this single patch
        set(0, 3, 0.5f);  // exactly the threshold
        const auto regions = lucida::findRegions(a, 1, 0.5, 10);
        QCOMPARE(regions.size(), std::size_t{5});
        auto check = [&](std::size_t i, double x, double y, double w, double h, float peak,
                         double peakX, double peakY, std::size_t patches) {
            const auto& r = regions[i];
            QCOMPARE(r.x, x);
            QCOMPARE(r.y, y);
            QCOMPARE(r.width, w);
            QCOMPARE(r.height, h);
            QCOMPARE(r.probability, double(peak));
            QCOMPARE(r.peakX, peakX);
            QCOMPARE(r.peakY, peakY);
            QCOMPARE(r.patches, patches);
            QCOMPARE(r.area, patches * 100.0 * 100.0);
        };
        check(0, 400, 0, 100, 100, 0.95f, 450, 50, 1);
        check(1, 0, 0, 200, 200, 0.9f, 50, 50, 2);
        check(2, 400, 200, 200, 200, 0.6f, 450, 250, 2);
        check(3, 200, 300, 100, 100, 0.6f, 250, 350, 1);
        check(4, 0, 300, 100, 100, 0.5f, 50, 350, 1);
        QCOMPARE(lucida::findRegions(a, 1, 0.5, 2).size(), std::size_t{2});
        QVERIFY(lucida::findRegions(a, 1, 0.991, 10).empty());
        // The summary's regions are these (its threshold, the explained class).
        const auto s = lucida::summarise(a);
        QCOMPARE(s.topRegions.size(), regions.size());
        QCOMPARE(s.topRegions[1].peakX, 50.0);
        // Areas in words: mm² / µm² with the pixel size, else px².
        QCOMPARE(lucida::regionAreaText(4e4, 0.5, 0.5), std::string("0.01 mm²"));
        QCOMPARE(lucida::regionAreaText(1e4, 0.5, std::nullopt), std::string("2500 µm²"));
        QCOMPARE(lucida::regionAreaText(65536, std::nullopt, std::nullopt),
                 std::string("65536 px²"));
    }

    // Live heat: while patches are missing, no stitched cell differs from its final value (no
    // strip of lone patch borders at the edge of what is done). Overlapping patches (50 %) whose
    // CAM is bright at the border and dark inside, done one by one.
    void partialCamShowsOnlyFinalValues() {
        lucida::SlideAnalysis a;
        a.grid.patchSize = 100;
        a.grid.stride = 50;
        a.grid.columns = 4;
        a.grid.rows = 3;
        a.camWidth = a.camHeight = 8;
        a.classes = {"benign", "malignant"};
        a.explainedClass = 1;
        for (int row = 0; row < 3; ++row)
            for (int column = 0; column < 4; ++column) {
                a.grid.patches.push_back({column, row, column * 50.0, row * 50.0, 100, 100, 0});
                lucida::PatchOutcome o;
                o.done = true;
                o.probabilities = {0.5f, 0.5f};
                for (int y = 0; y < 8; ++y)
                    for (int x = 0; x < 8; ++x) {
                        const bool border = x == 0 || y == 0 || x == 7 || y == 7;
                        o.cam.push_back(border ? 5.0f + column : 0.1f * (x + y) + row);
                    }
                a.outcomes.push_back(o);
            }
        for (auto normalisation :
             {lucida::CamNormalisation::Slide, lucida::CamNormalisation::Patch}) {
            float fLow = 0, fHigh = 0;
            const auto final = lucida::stitchCam(a, normalisation, &fLow, &fHigh);
            lucida::SlideAnalysis partial = a;
            for (auto& o : partial.outcomes) o.done = false;
            int shownBefore = 0;
            for (std::size_t done = 0; done < a.outcomes.size(); ++done) {
                partial.outcomes[done].done = true;
                float low = 0, high = 0;
                const auto r = lucida::stitchCam(partial, normalisation, &low, &high);
                QCOMPARE(r.width, final.width);
                QCOMPARE(r.height, final.height);
                int shown = 0;
                for (std::size_t k = 0; k < r.values.size(); ++k) {
                    if (std::isnan(r.values[k])) continue;
                    ++shown;
                    // Raw values for the slide-wide scale (it widens as patches arrive).
                    const double v = normalisation == lucida::CamNormalisation::Slide
                                         ? low + r.values[k] * (high - low)
                                         : r.values[k];
                    const double f = normalisation == lucida::CamNormalisation::Slide
                                         ? fLow + final.values[k] * (fHigh - fLow)
                                         : final.values[k];
                    QVERIFY2(std::abs(v - f) < 1e-4, qPrintable(QString("cell %1 after %2: %3, "
                                                                        "final %4")
                                                                    .arg(k)
                                                                    .arg(done + 1)
                                                                    .arg(v)
                                                                    .arg(f)));
                }
                QVERIFY(shown >= shownBefore);  // what is shown stays shown
                shownBefore = shown;
            }
            QCOMPARE(shownBefore, int(final.values.size()));
            // The first patch alone: its cells no other patch covers are shown (a quarter).
            for (auto& o : partial.outcomes) o.done = false;
            partial.outcomes[0].done = true;
            const auto first = lucida::stitchCam(partial, normalisation);
            int firstShown = 0;
            for (float v : first.values) firstShown += !std::isnan(v);
            QCOMPARE(firstShown, 16);
        }
    }

    // The files: float pyramids hold the rasters exactly; the heat pyramids open in OpenSlide.
    void outputs() {
        QTemporaryDir out;
        lucida::AnalysisSettings settings;
        settings.mode = lucida::AnalysisMode::Patch;  // per patch: what this suite checks
        const auto a = lucida::analyseSlide(*slide_, *model_, settings, out.path().toStdString());
        const auto json =
            lucida::writeAnalysisOutputs(a, slide_->info(), out.path().toStdString(), "aperio.svs");
        QFile f(QString::fromStdString(json));
        QVERIFY(f.open(QIODevice::ReadOnly));
        const auto j = QJsonDocument::fromJson(f.readAll()).object();
        QCOMPARE(j["analysed_patches"].toInt(), static_cast<int>(a.outcomes.size()));
        const auto summary = j["summary"].toObject();
        QCOMPARE(summary["histogram"].toArray().size(), 20);
        int histogramTotal = 0;
        for (const auto& v : summary["histogram"].toArray()) histogramTotal += v.toInt();
        QCOMPARE(histogramTotal, static_cast<int>(a.outcomes.size()));
        const auto regions = summary["top_regions"].toArray();
        QVERIFY(!regions.isEmpty());
        double best = 0;
        for (const auto& o : a.outcomes) best = std::max(best, double(o.probabilities[1]));
        QCOMPARE(regions[0].toObject()["probability"].toDouble(), best);

        int w = 0, h = 0;
        const auto values = readFloatTiff(out.filePath("aperio.svs.probability.tiff"), w, h);
        const auto raster = lucida::probabilityRaster(a, 1);
        QCOMPARE(w, raster.width);
        QCOMPARE(h, raster.height);
        for (std::size_t i = 0; i < values.size(); ++i)
            QCOMPARE(values[i], std::isnan(raster.values[i]) ? 0.0f : raster.values[i]);

        const auto heat = lucida::openImage(out.filePath("aperio.svs.cam.heat.tiff").toStdString());
        QVERIFY2(heat->info().format.find("OpenSlide") != std::string::npos,
                 heat->info().format.c_str());
        const auto cam = lucida::stitchCam(a, lucida::CamNormalisation::Slide);
        QCOMPARE(heat->info().width(), static_cast<std::int64_t>(cam.width));
        QVERIFY(heat->info().mppX.has_value());
        QVERIFY(std::abs(*heat->info().mppX - 0.499 * cam.cellSize) < 1e-3);
    }

    // A damaged store: bytes changed, indices duplicated, header damaged, record truncated,
    // values out of range. Each run on it ends with the outputs of a clean run (what was damaged
    // recomputed), the store at the clean size, and three reruns reuse everything without
    // growing it.
    void damagedStoresGiveCleanOutputs_data() {
        QTest::addColumn<QString>("damage");
        QTest::newRow("bytes changed") << "bytes";
        QTest::newRow("index altered") << "index";
        QTest::newRow("indices duplicated") << "duplicate";
        QTest::newRow("header damaged") << "header";
        QTest::newRow("record truncated") << "truncated";
        QTest::newRow("probability out of range") << "probability";
        QTest::newRow("map not finite") << "nan";
    }

    void damagedStoresGiveCleanOutputs() {
        QFETCH(QString, damage);
        lucida::AnalysisSettings settings;
        settings.mode = lucida::AnalysisMode::Patch;  // per patch: what this suite checks
        settings.batchSize = 8;
        if (!clean_) {
            clean_ = std::make_unique<QTemporaryDir>();
            cleanRun_ = std::make_unique<lucida::SlideAnalysis>(
                lucida::analyseSlide(*slide_, *model_, settings, clean_->path().toStdString()));
        }
        const auto& clean = *cleanRun_;
        const std::string cleanStore = clean.resultsDir + "/patches.bin";
        const auto cleanSize = std::filesystem::file_size(cleanStore);
        const std::size_t total = clean.outcomes.size();
        const auto record = lucida::PatchStore::recordSize(2, clean.camWidth, clean.camHeight);
        QCOMPARE(cleanSize, lucida::PatchStore::kHeaderSize + total * record);

        QTemporaryDir results;
        const std::string dir = results.path().toStdString() + "/" + clean.key;
        std::filesystem::create_directories(dir);
        std::filesystem::copy_file(cleanStore, dir + "/patches.bin");
        QFile f(QString::fromStdString(dir + "/patches.bin"));
        QVERIFY(f.open(QIODevice::ReadWrite));
        QByteArray bytes = f.readAll();
        const qsizetype h = lucida::PatchStore::kHeaderSize;
        auto at = [&](std::size_t k) { return h + qsizetype(k * record); };
        // A record with a valid checksum holding these values.
        auto forged = [&](std::uint32_t index, std::vector<float> p, std::vector<float> cam) {
            QByteArray r(reinterpret_cast<const char*>(&index), 4);
            r.append(reinterpret_cast<const char*>(p.data()), qsizetype(p.size() * 4));
            r.append(reinterpret_cast<const char*>(cam.data()), qsizetype(cam.size() * 4));
            const std::uint32_t crc = lucida::crc32c(r.constData(), std::size_t(r.size()));
            r.append(reinterpret_cast<const char*>(&crc), 4);
            return r;
        };
        std::size_t damaged = 0;  // patches whose stored record is unusable
        if (damage == "bytes") {
            for (int i = 0; i < 200; ++i) {  // in the first 10 records' maps
                const std::size_t k = std::size_t(i % 10);
                bytes[at(k) + 12 + (i * 37) % qsizetype(record - 16)] ^= char(0x5A);
            }
            damaged = 10;
        } else if (damage == "index") {
            // Patch 3's record now claims patch 7: never shown as patch 7.
            bytes[at(3)] = char(bytes[at(3)] ^ 0x04);
            damaged = 1;
        } else if (damage == "duplicate") {
            // A valid record of patch 2 holding patch 9's values, after the real one.
            const auto& o = clean.outcomes[9];
            bytes.append(forged(2, o.probabilities, o.cam));
            bytes.append(bytes.mid(at(5), qsizetype(record)));
        } else if (damage == "header") {
            bytes[30] = char(bytes[30] ^ 0x01);
            damaged = total;
        } else if (damage == "truncated") {
            bytes.chop(qsizetype(record / 3));
            damaged = 1;
        } else if (damage == "probability") {
            bytes.replace(at(4), qsizetype(record),
                          forged(4, {-3.0f, 4.0f}, clean.outcomes[4].cam));
            damaged = 1;
        } else if (damage == "nan") {
            auto cam = clean.outcomes[4].cam;
            cam[1] = std::numeric_limits<float>::infinity();
            bytes.replace(at(4), qsizetype(record),
                          forged(4, clean.outcomes[4].probabilities, cam));
            damaged = 1;
        }
        QVERIFY(f.seek(0) && f.resize(0));
        f.write(bytes);
        f.close();

        // The viewer's read-only look at it: only sound records, nothing changed on disk.
        const auto look =
            lucida::loadSlideAnalysis(*slide_, *model_, settings, results.path().toStdString());
        QVERIFY(damaged == total || (look && look->reused == total - damaged));
        QCOMPARE(std::filesystem::file_size(dir + "/patches.bin"), std::uintmax_t(bytes.size()));

        const auto repaired =
            lucida::analyseSlide(*slide_, *model_, settings, results.path().toStdString());
        QCOMPARE(repaired.reused, total - damaged);
        QVERIFY(repaired.complete());
        QVERIFY(!repaired.notices.empty());
        const QString notice = QString::fromStdString(repaired.notices.back());
        QVERIFY2(notice.contains("patches.bin"), qPrintable(notice));
        qInfo("%s", qPrintable(notice));
        // The outputs of a clean run: the per-patch outcomes (recomputed ones in other batches:
        // float rounding only), the stitched map and probability rasters.
        double worstP = 0, worstMap = 0;
        for (std::size_t i = 0; i < total; ++i) {
            const auto &a = repaired.outcomes[i], &b = clean.outcomes[i];
            QCOMPARE(a.cam.size(), b.cam.size());
            for (std::size_t k = 0; k < 2; ++k)
                worstP =
                    std::max(worstP, double(std::abs(a.probabilities[k] - b.probabilities[k])));
            float peak = 1e-6f;
            for (float v : b.cam) peak = std::max(peak, std::abs(v));
            for (std::size_t k = 0; k < a.cam.size(); ++k)
                worstMap = std::max(worstMap, double(std::abs(a.cam[k] - b.cam[k]) / peak));
        }
        QVERIFY2(worstP <= 1e-5 && worstMap <= 1e-4,
                 qPrintable(QString("%1 %2").arg(worstP).arg(worstMap)));
        float lowA = 0, highA = 0, lowB = 0, highB = 0;
        const auto camA =
            lucida::stitchCam(repaired, lucida::CamNormalisation::Slide, &lowA, &highA);
        const auto camB = lucida::stitchCam(clean, lucida::CamNormalisation::Slide, &lowB, &highB);
        QVERIFY(std::abs(highA - highB) <= 1e-4 * std::max(1.0f, std::abs(highB)));
        QCOMPARE(camA.values.size(), camB.values.size());
        for (std::size_t i = 0; i < camA.values.size(); ++i)
            QVERIFY(std::isnan(camB.values[i]) ? std::isnan(camA.values[i])
                                               : std::abs(camA.values[i] - camB.values[i]) <= 1e-4);
        const auto probA = lucida::probabilityRaster(repaired, 1),
                   probB = lucida::probabilityRaster(clean, 1);
        for (std::size_t i = 0; i < probA.values.size(); ++i)
            QVERIFY(std::isnan(probB.values[i])
                        ? std::isnan(probA.values[i])
                        : std::abs(probA.values[i] - probB.values[i]) <= 1e-5);

        // Three reruns: all reused, the store at the clean size, the folder not growing.
        auto folderSize = [&] {
            std::uintmax_t size = 0;
            for (const auto& e : std::filesystem::directory_iterator(dir))
                size += e.is_regular_file() ? e.file_size() : 0;
            return size;
        };
        QCOMPARE(std::filesystem::file_size(dir + "/patches.bin"), cleanSize);
        const auto folder = folderSize();
        for (int rerun = 0; rerun < 3; ++rerun) {
            const auto again =
                lucida::analyseSlide(*slide_, *model_, settings, results.path().toStdString());
            QCOMPARE(again.reused, total);
            QVERIFY(again.notices.empty());
            QCOMPARE(std::filesystem::file_size(dir + "/patches.bin"), cleanSize);
            QCOMPARE(folderSize(), folder);
        }
    }

    // Two analyses of one slide into one results folder at once (as two `analyse` runs, or a
    // viewer and a CLI): the second waits for the first, says so, and reuses all it wrote. One
    // consistent store; no patch computed twice.
    void concurrentWritersShareOneStore() {
        QTemporaryDir results;
        lucida::AnalysisSettings settings;
        settings.mode = lucida::AnalysisMode::Patch;  // per patch: what this suite checks
        settings.batchSize = 4;
        std::atomic<bool> firstLoaded{false};
        std::atomic<int> waits{0};
        std::atomic<std::size_t> storedWhileWaiting{0};
        lucida::AnalysisCallbacks first;
        first.onLoaded = [&](const lucida::SlideAnalysis&) { firstLoaded = true; };
        // The first writer holds the folder until the second has seen it writing (a fixed sleep
        // was not enough under ThreadSanitizer: the first finished before the second arrived).
        const auto giveUp = std::chrono::steady_clock::now() + std::chrono::seconds(120);
        first.onBatch = [&](const lucida::SlideAnalysis&) {
            while (storedWhileWaiting == 0 && std::chrono::steady_clock::now() < giveUp)
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        };
        lucida::SlideAnalysis a, b;
        std::thread one([&] {
            a = lucida::analyseSlide(*slide_, *model_, settings, results.path().toStdString(),
                                     first);
        });
        while (!firstLoaded) std::this_thread::sleep_for(std::chrono::milliseconds(5));
        std::string said;
        lucida::AnalysisCallbacks second;
        second.onWaiting = [&](const lucida::SlideAnalysis& stored, const std::string& message) {
            ++waits;
            said = message;
            storedWhileWaiting = std::max(storedWhileWaiting.load(), stored.reused);
        };
        std::thread two([&] {
            b = lucida::analyseSlide(*slide_, *model_, settings, results.path().toStdString(),
                                     second);
        });
        one.join();
        two.join();
        const std::size_t total = a.outcomes.size();
        QVERIFY(a.complete() && b.complete());
        const std::size_t inferredA = a.doneCount() - a.reused,
                          inferredB = b.doneCount() - b.reused;
        qInfo("patches %zu: first computed %zu, second %zu (waited %d times: %s)", total, inferredA,
              inferredB, waits.load(), said.c_str());
        QVERIFY(waits >= 1);
        QVERIFY2(said.find("is writing the results in " + a.resultsDir) != std::string::npos,
                 said.c_str());
        QVERIFY(storedWhileWaiting > 0);  // the other's results shown while it writes
        QCOMPARE(inferredA, total);
        QCOMPARE(inferredB, std::size_t{0});
        QVERIFY(inferredA + inferredB <= total + std::size_t(settings.batchSize));
        QCOMPARE(std::filesystem::file_size(a.resultsDir + "/patches.bin"),
                 lucida::PatchStore::kHeaderSize +
                     total * lucida::PatchStore::recordSize(2, a.camWidth, a.camHeight));
        for (std::size_t i = 0; i < total; ++i)
            QCOMPARE(b.outcomes[i].probabilities, a.outcomes[i].probabilities);
    }

    // A CT (0.66 mm pixels) with a model declared at 0.5 µm/px: the scales cannot be mapped;
    // the whole image is fitted (or patches at its own pixels), at once, saying so. A sidecar at
    // 0.001 µm/px is refused naming the file, the field and the number.
    void scaleLimits() {
        QTemporaryDir dir;
        const QString modelPath = dir.filePath("micro.pt");
        QVERIFY(QFile::copy(referenceDir() + "/smallcnn.traced.pt", modelPath));
        auto sidecar = [&](const char* mpp) {
            QFile f(dir.filePath("micro.json"));
            QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
            f.write(QByteArray(R"({"classes": ["benign", "malignant"], "output": "sigmoid",
                                   "input_size": [128, 128], "microns_per_pixel": )") +
                    mpp + "}");
        };
        sidecar("0.5");
        const auto model = lucida::Model::open(modelPath.toStdString());
        const auto ct = lucida::openImage(fixtures::path("dicom/CT_small.dcm"));
        QVERIFY(lucida::usesWholeImage(ct->info(), model->spec(), lucida::ImageFit::Auto));
        QTemporaryDir results;
        lucida::AnalysisSettings settings;
        settings.mode = lucida::AnalysisMode::Patch;  // per patch: what this suite checks
        model->defaultTargetLayer();  // found once per model (a forward pass): not the plan's time
        QElapsedTimer timer;
        timer.start();
        QVERIFY(!lucida::loadSlideAnalysis(*ct, *model, settings, results.path().toStdString()));
        const qint64 planMs = timer.elapsed();
        const auto whole =
            lucida::analyseSlide(*ct, *model, settings, results.path().toStdString());
        const qint64 wholeMs = timer.elapsed();
        qInfo("CT + 0.5 µm/px model: planned in %lld ms, analysed (whole image) in %lld ms", planMs,
              wholeMs);
        QVERIFY(planMs < 1000);
        QVERIFY(wholeMs < 5000);
        QVERIFY(whole.grid.wholeImage && whole.complete());
        QCOMPARE(whole.outcomes.size(), std::size_t{1});
        QCOMPARE(whole.notices.size(), std::size_t{1});
        const std::string& notice = whole.notices[0];
        for (const char* part : {"CT_small.dcm", "cannot map the scales", "0.661468 mm",
                                 "0.5 µm per pixel", "whole image"})
            QVERIFY2(notice.find(part) != std::string::npos, notice.c_str());
        settings.fit = lucida::ImageFit::Patches;
        settings.detectTissue = false;
        const auto patches =
            lucida::analyseSlide(*ct, *model, settings, results.path().toStdString());
        QCOMPARE(patches.grid.patches.size(), std::size_t{1});  // 128 px at the CT's own pixels
        QCOMPARE(patches.grid.downsample, 1.0);
        QVERIFY(patches.notices[0].find("own pixels") != std::string::npos);

        sidecar("0.001");
        timer.restart();
        try {
            lucida::Model::open(modelPath.toStdString());
            QFAIL("a 0.001 µm/px sidecar was accepted");
        } catch (const lucida::ModelError& e) {
            QCOMPARE(QString::fromStdString(e.path()), dir.filePath("micro.json"));
            const std::string reason = e.reason();
            QVERIFY2(reason.find("microns_per_pixel 0.001 is outside the plausible 0.05 to 100") !=
                         std::string::npos,
                     e.what());
        }
        QVERIFY(timer.elapsed() < 1000);
    }

private:
    std::unique_ptr<QTemporaryDir> clean_;
    std::unique_ptr<lucida::SlideAnalysis> cleanRun_;
    std::vector<std::size_t> batchesFlat_;
    QTemporaryDir dir_;
    std::unique_ptr<lucida::ImageSource> slide_;
    std::unique_ptr<lucida::Model> model_;
};

QTEST_GUILESS_MAIN(SlideAnalysisTest)
#include "slide_analysis_test.moc"
