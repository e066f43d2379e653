// Dense mode on a demo slide with the demo model, against patch mode (overlap none and 50 %):
// the seam index (mean CAM step across the patch grid's borders ÷ mean step inside patches) is ~1
// in dense mode and well above in patch mode without overlap; the pointing game on the slide's
// lesions is not worse; the results key and settings record the mode.
#include "analysis/AnalysisOutputs.h"
#include "analysis/SlideAnalysis.h"
#include "demo/DemoData.h"
#include "image/ImageSource.h"
#include "model/Model.h"

#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <vector>

using namespace lucida;

namespace {

double median(std::vector<double> v) {
    std::nth_element(v.begin(), v.begin() + std::ptrdiff_t(v.size() / 2), v.end());
    return v.empty() ? NAN : v[v.size() / 2];
}

// Steps between neighbouring cells, split by whether they cross a line of the grid `period`
// cells apart (shifted by `phase` cells): the median step across the lines ÷ the median step
// elsewhere. Medians, so that a few lesion or tissue edges that happen to lie on a line do not
// decide it; a patch grid's seams lie on every line.
double seamIndex(const FloatRaster& r, int period, int phase = 0) {
    std::vector<double> border, inside;
    auto add = [&](float a, float b, bool onLine) {
        // Cold areas (both ~0 after the ReLU) have no steps to compare.
        if (std::isnan(a) || std::isnan(b) || std::max(a, b) < 0.02f) return;
        (onLine ? border : inside).push_back(std::abs(a - b));
    };
    for (int y = 0; y < r.height; ++y)
        for (int x = 0; x + 1 < r.width; ++x)
            add(r.at(x, y), r.at(x + 1, y), (x + 1 + phase) % period == 0);
    for (int y = 0; y + 1 < r.height; ++y)
        for (int x = 0; x < r.width; ++x)
            add(r.at(x, y), r.at(x, y + 1), (y + 1 + phase) % period == 0);
    return median(border) / median(inside);
}

// Lesions whose CAM peak, searched in the lesion's box grown by its own size on each side, lies
// inside the box.
int pointingHits(const FloatRaster& r, const std::vector<demo::DemoLesion>& lesions) {
    int hits = 0;
    for (const auto& l : lesions) {
        float best = -1;
        double bx = 0, by = 0;
        for (int y = 0; y < r.height; ++y)
            for (int x = 0; x < r.width; ++x) {
                const double cx = (x + 0.5) * r.cellSize, cy = (y + 0.5) * r.cellSize;
                if (cx < l.x - l.width || cx > l.x + 2 * l.width || cy < l.y - l.height ||
                    cy > l.y + 2 * l.height)
                    continue;
                const float v = r.at(x, y);
                if (!std::isnan(v) && v > best) best = v, bx = cx, by = cy;
            }
        hits += bx >= l.x && bx <= l.x + l.width && by >= l.y && by <= l.y + l.height;
    }
    return hits;
}

}  // namespace

class DenseSeamsTest : public QObject {
    Q_OBJECT

private slots:
    void denseHasNoSeams() {
        QTemporaryDir dir;
        demo::DemoSlideOptions options;
        options.width = 2048;
        options.height = 2048;
        const auto slide = demo::writeDemoSlide(dir.filePath("slide.tiff").toStdString(),
                                                dir.filePath("mask.png").toStdString(), options);
        const auto source = openImage(slide.path);
        const auto model = Model::open(LUCIDA_SOURCE_DIR "/resources/demo/model/demo-smallcnn.pth");
        struct Case {
            const char* name;
            AnalysisMode mode;
            double overlap;
            double seams = 0;
            int hits = 0;
        };
        Case cases[] = {{"patch, overlap none", AnalysisMode::Patch, 0},
                        {"patch, overlap 50 %", AnalysisMode::Patch, 0.5},
                        {"dense", AnalysisMode::Dense, 0}};
        std::string keys[3];
        for (int i = 0; i < 3; ++i) {
            Case& c = cases[i];
            AnalysisSettings s;
            s.mode = c.mode;
            s.overlap = c.overlap;
            const SlideAnalysis a = analyseSlide(*source, *model, s, dir.path().toStdString());
            QVERIFY(a.complete());
            QCOMPARE(a.settings.mode, c.mode);
            keys[i] = a.key;
            const FloatRaster cam = stitchCam(a, CamNormalisation::Slide);
            // The borders of the non-overlapping patch grid (every patch's own border with
            // overlap none), in CAM cells.
            const int period = static_cast<int>(std::lround(a.grid.patchSize / cam.cellSize));
            // Against the same statistic on lines half a patch off the grid (a control on the
            // same map: thresholded medians are not 1 on a seamless map either).
            c.seams = seamIndex(cam, period) / seamIndex(cam, period, period / 2);
            c.hits = pointingHits(cam, slide.lesions);
            qInfo("%s: %zu patches, seam index %.2f, pointing game %d of %zu", c.name,
                  a.grid.patches.size(), c.seams, c.hits, slide.lesions.size());
            if (c.mode == AnalysisMode::Dense) {
                QFile settings(QString::fromStdString(a.resultsDir + "/settings.json"));
                QVERIFY(settings.open(QIODevice::ReadOnly));
                QVERIFY(settings.readAll().contains("\"mode\": \"dense\""));
            }
        }
        QVERIFY(keys[2] != keys[0]);  // the key records the mode
        // Measured: patch none 1.61, patch 50 % 0.79, dense 0.86.
        QVERIFY2(cases[2].seams > 0.7 && cases[2].seams < 1.2, "dense mode has seams");
        QVERIFY2(cases[0].seams > 1.3, "patch mode without overlap shows no seams to compare");
        QVERIFY(cases[0].seams > cases[2].seams + 0.4);
        QVERIFY(cases[2].hits >= cases[0].hits);
    }

    // Tiles fitted to the tissue (each shrunk to the cells its patches need, read ahead on another
    // thread) give the same outcomes whatever the tile size: many small tiles against one tile
    // over the whole grid.
    void tileSizeDoesNotChangeOutcomes() {
        QTemporaryDir dir, small, whole;
        demo::DemoSlideOptions options;
        options.width = options.height = 1024;
        const auto slide = demo::writeDemoSlide(dir.filePath("slide.tiff").toStdString(),
                                                dir.filePath("mask.png").toStdString(), options);
        const auto source = openImage(slide.path);
        const auto model = Model::open(LUCIDA_SOURCE_DIR "/resources/demo/model/demo-smallcnn.pth");
        AnalysisSettings s;
        s.mode = AnalysisMode::Dense;
        s.overlap = 0.5;
        s.denseTile = 128;
        const SlideAnalysis tiled = analyseSlide(*source, *model, s, small.path().toStdString());
        s.denseTile = 4096;
        const SlideAnalysis one = analyseSlide(*source, *model, s, whole.path().toStdString());
        QCOMPARE(tiled.settings.mode, AnalysisMode::Dense);
        QVERIFY(tiled.complete() && one.complete());
        QCOMPARE(tiled.outcomes.size(), one.outcomes.size());
        QVERIFY(tiled.outcomes.size() > 20);
        double camMax = 0, camDiff = 0, probabilityDiff = 0;
        for (std::size_t i = 0; i < one.outcomes.size(); ++i) {
            const auto &a = tiled.outcomes[i], &b = one.outcomes[i];
            QCOMPARE(a.cam.size(), b.cam.size());
            for (std::size_t j = 0; j < a.cam.size(); ++j) {
                camMax = std::max(camMax, double(b.cam[j]));
                camDiff = std::max(camDiff, double(std::abs(a.cam[j] - b.cam[j])));
            }
            for (std::size_t c = 0; c < b.probabilities.size(); ++c)
                probabilityDiff = std::max(
                    probabilityDiff, double(std::abs(a.probabilities[c] - b.probabilities[c])));
        }
        qInfo("128-px tiles against one tile: CAM %.2g of max %.3g, probability %.2g", camDiff,
              camMax, probabilityDiff);
        QVERIFY(camMax > 0);
        QVERIFY(camDiff <= 1e-4 * camMax);
        QVERIFY(probabilityDiff <= 1e-4);
    }

    // Methods that need per-patch gradients stay on patches, and say so.
    void refusedMethodsUsePatches() {
        QTemporaryDir dir;
        demo::DemoSlideOptions options;
        options.width = options.height = 1024;
        const auto slide = demo::writeDemoSlide(dir.filePath("slide.tiff").toStdString(),
                                                dir.filePath("mask.png").toStdString(), options);
        const auto source = openImage(slide.path);
        const auto model = Model::open(LUCIDA_SOURCE_DIR "/resources/demo/model/demo-smallcnn.pth");
        AnalysisSettings s;
        s.mode = AnalysisMode::Dense;
        s.method = "gradcam++";
        const auto loaded = loadSlideAnalysis(*source, *model, s, dir.path().toStdString());
        QVERIFY(!loaded);
        const SlideAnalysis a = analyseSlide(*source, *model, s, dir.path().toStdString());
        QCOMPARE(a.settings.mode, AnalysisMode::Patch);
        bool said = false;
        for (const auto& n : a.notices) said |= n.find("gradcam++") != std::string::npos;
        QVERIFY(said);
    }
};

QTEST_APPLESS_MAIN(DenseSeamsTest)
#include "dense_seams_test.moc"
