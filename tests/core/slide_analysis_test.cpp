// Whole-slide analysis on a real-texture slide (the ihc.png fixture as an Aperio pyramid): stored
// per-patch results against the engine run on each patch alone, stitching, resume and reuse, and
// the outputs read back by independent readers (libtiff for floats, OpenSlide for the heatmaps).

#include "analysis/AnalysisOutputs.h"
#include "analysis/SlideAnalysis.h"
#include "cam/Explainer.h"
#include "fixtures/Fixtures.h"
#include "image/ImageSource.h"
#include "model/Model.h"
#include "model/Preprocess.h"

#include <tiffio.h>

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <set>

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

    // The analysis does what is on screen first, and follows the view when it moves.
    void followsTheView() {
        QTemporaryDir results;
        lucida::AnalysisSettings settings;
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

    // The files: float pyramids hold the rasters exactly; the heat pyramids open in OpenSlide.
    void outputs() {
        QTemporaryDir out;
        lucida::AnalysisSettings settings;
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

private:
    std::vector<std::size_t> batchesFlat_;
    QTemporaryDir dir_;
    std::unique_ptr<lucida::ImageSource> slide_;
    std::unique_ptr<lucida::Model> model_;
};

QTEST_GUILESS_MAIN(SlideAnalysisTest)
#include "slide_analysis_test.moc"
