// Whole-slide analysis in the viewer, driven through the real main window on the Aperio fixture
// (real ihc texture, 0.499 µm/px) with the reference small CNN: partial heatmaps while it runs,
// the overlay against the stored analysis stitched by the core, the progress, the heatmap really
// on screen (and gone with H), regions that centre the view, a class change that drops the overlay
// at once and restarts, cancelling, and a new window that shows the stored heatmap without running
// the model. With LUCIDA_SCREENSHOT_DIR set, saves screenshot-heatmap.png there.
#include "AnalysisController.h"
#include "AnalysisPanel.h"
#include "AnnotationDocument.h"
#include "HeatmapOverlay.h"
#include "MainWindow.h"
#include "SceneRenderer.h"
#include "SlideView.h"
#include "TileService.h"
#include "ViewAnnotations.h"
#include "ViewWaits.h"
#include "analysis/AnalysisOutputs.h"
#include "analysis/SlideAnalysis.h"
#include "annotations/AnnotationFiles.h"
#include "annotations/AnnotationGeometry.h"
#include "annotations/HeatRegions.h"
#include "cam/CamMaps.h"
#include "fixtures/Fixtures.h"
#include "model/Model.h"

#include <QAction>
#include <QComboBox>
#include <QDir>
#include <QDockWidget>
#include <QDropEvent>
#include <QElapsedTimer>
#include <QFile>
#include <QInputDialog>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QListWidget>
#include <QMessageBox>
#include <QMimeData>
#include <QPainter>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QSlider>
#include <QStandardPaths>
#include <QStyleOption>
#include <QTemporaryDir>
#include <QTimer>
#include <QtTest>

#include <cmath>
#include <functional>

using namespace lucida;
using namespace lucida::ui;

namespace {

QString referenceDir() { return QString::fromLocal8Bit(qgetenv("LUCIDA_REFERENCE_DIR")); }

int channelDiff(QRgb a, QRgb b) {
    return std::max({std::abs(qRed(a) - qRed(b)), std::abs(qGreen(a) - qGreen(b)),
                     std::abs(qBlue(a) - qBlue(b))});
}

bool sameFloat(float a, float b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

// What colouriseMap gives for one value (alpha 0 for NaN).
QRgb colourOf(float value, ColourMap colours) {
    FloatTensor one({1, 1});
    one.data[0] = value;
    const PixelBuffer p = colouriseMap(one, colours);
    const std::uint8_t* c = p.rgbaAt(0, 0);
    return c[3] ? qRgba(c[0], c[1], c[2], 255) : 0;
}

constexpr int kRunTimeoutMs = 240000;

}  // namespace

class AnalysisUiTest : public QObject {
    Q_OBJECT
private:
    std::unique_ptr<QTemporaryDir> tmp_;
    QString slidePath_, modelPath_;
    std::unique_ptr<TileService> tiles_;
    std::unique_ptr<MainWindow> window_;
    std::unique_ptr<Model> model_;  // the test's own, to read the stored analysis
    std::shared_ptr<const ImageSource> source_;
    std::size_t totalPatches_ = 0;

    std::unique_ptr<MainWindow> makeWindow() {
        auto window = std::make_unique<MainWindow>(tiles_.get());
        window->resize(1500, 950);
        window->show();
        if (!QTest::qWaitForWindowExposed(window.get())) return nullptr;
        return window;
    }

    // A reference model copied into the test folder as <name>.pt with the sidecar <name>.json;
    // returns the model's path (empty when a file could not be written).
    QString copyModel(const QString& reference, const QString& name, const QJsonObject& sidecar) {
        const QString path = tmp_->filePath(name + ".pt");
        QFile json(tmp_->filePath(name + ".json"));
        if (!QFile::copy(referenceDir() + "/" + reference, path) ||
            !json.open(QIODevice::WriteOnly) || json.write(QJsonDocument(sidecar).toJson()) < 0)
            return {};
        return path;
    }

    static QJsonObject json(const char* text) {
        return QJsonDocument::fromJson(QByteArray(text)).object();
    }

    static bool openModel(MainWindow* window, const QString& path) {
        QSignalSpy opened(window, &MainWindow::modelOpened);
        window->openModel(path);
        return opened.wait(60000);
    }

    static SlideView* openSlide(MainWindow* window, const QString& path) {
        QSignalSpy opened(window, &MainWindow::documentOpened);
        window->openPath(path);
        if (!opened.wait(20000)) return nullptr;
        return opened.takeFirst().at(0).value<SlideView*>();
    }

    static bool waitLoaded(SlideView* view, int ms = 20000) {
        return viewtest::waitLoaded(view, ms);
    }

    // The analysis stored for `classIndex`, read back by the core without running anything.
    std::optional<SlideAnalysis> stored(const AnalysisController* c, int classIndex,
                                        const std::string& method = "gradcam") const {
        AnalysisSettings settings;
        settings.method = method;
        settings.classIndex = classIndex;
        settings.mode = AnalysisMode::Patch;  // as the window runs it here (initTestCase)
        return loadSlideAnalysis(*source_, *model_, settings, c->resultsRoot().toStdString());
    }

    AnalysisController* current() const {
        return AnalysisController::of(window_ ? window_->currentView() : nullptr);
    }

private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName("LucidaTest");
        QCoreApplication::setApplicationName("analysis_ui_test");
        QSettings().clear();
        // These tests drive "Analyse slide"; live analysis of the view is tested on its own.
        QSettings().setValue("analysis/live", false);
        // Patch mode's run (a partial heatmap per batch, patch counts): the reference TorchScript
        // small CNN would run dense by default; dense runs have their own tests (dense_view_test).
        QSettings().setValue("analysis/mode", "patch");
        // Results beside the temporary slide copies, so each run starts empty and leaves nothing
        // in the user's store (the default place is tested in results_location_test).
        QSettings().setValue("analysis/resultsBesideImage", true);
        qRegisterMetaType<SlideView*>("SlideView*");
        QVERIFY2(QFile::exists(referenceDir() + "/smallcnn.traced.pt"),
                 "reference model missing (LUCIDA_REFERENCE_DIR)");
        tmp_ = std::make_unique<QTemporaryDir>();
        QVERIFY(tmp_->isValid());
        // A copy of the slide, so the stored results ("<slide>.lucida") start empty and stay here.
        slidePath_ = tmp_->filePath("aperio.svs");
        QVERIFY(
            QFile::copy(QString::fromStdString(fixtures::path("slides/aperio.svs")), slidePath_));
        // The reference small CNN (binary, input 128) declared for 0.998 µm/px: patches of 256
        // level-0 pixels on the 0.499 µm/px slide.
        modelPath_ = copyModel("smallcnn.traced.pt", "cnn",
                               json(R"({"classes": ["benign", "malignant"], "output": "sigmoid",
                                        "input_size": [128, 128], "microns_per_pixel": 0.998})"));
        QVERIFY(!modelPath_.isEmpty());
        model_ = Model::open(modelPath_.toStdString());
        source_ = openImage(slidePath_.toStdString());
        tiles_ = std::make_unique<TileService>(std::size_t{256} << 20, 2);
    }

    void cleanupTestCase() {
        window_.reset();
        tiles_.reset();
    }

    // Analyse Slide: partial heatmaps while it runs, then the complete one, equal to the stored
    // analysis stitched by the core and coloured by colouriseMap, cell by cell.
    void analysesWithPartialHeatmaps() {
        window_ = makeWindow();
        QVERIFY(window_);
        QVERIFY(openModel(window_.get(), modelPath_));
        SlideView* view = openSlide(window_.get(), slidePath_);
        QVERIFY(view);
        AnalysisController* c = AnalysisController::of(view);
        QVERIFY(c);
        QCOMPARE(window_->analysisPanel()->controller(), c);
        QCOMPARE(window_->analysisPanel()->classCombo()->count(), 2);
        QCOMPARE(window_->analysisPanel()->classCombo()->currentText(), QString("malignant"));
        QCOMPARE(c->resultsRoot(), slidePath_ + ".lucida");
        // Cool cells are left out by default; here every cell is compared, so none is.
        QCOMPARE(c->overlay()->threshold(), 0.2);
        window_->analysisPanel()->thresholdSlider()->setValue(0);
        QCOMPARE(c->overlay()->threshold(), 0.0);
        c->setBatchSize(4);
        c->setPartialIntervalMs(0);  // a heatmap after every batch, so the test sees partial ones

        int partialShown = 0;
        const auto watch = connect(c, &AnalysisController::resultsChanged, this, [&] {
            if (c->results() && !c->results()->complete && !c->overlay()->isEmpty()) ++partialShown;
        });
        QAction* analyse = window_->findChild<QAction*>("analyseSlideAction");
        QVERIFY(analyse);
        QCOMPARE(analyse->shortcut(), QKeySequence("Ctrl+Shift+A"));
        analyse->trigger();
        QCOMPARE(c->state(), AnalysisController::State::Running);
        QTRY_VERIFY_WITH_TIMEOUT(c->state() != AnalysisController::State::Running, kRunTimeoutMs);
        disconnect(watch);
        QCOMPARE(c->state(), AnalysisController::State::Complete);
        qInfo("%d partial heatmaps shown before the complete one", partialShown);
        QVERIFY(partialShown >= 2);

        const auto a = stored(c, 1);
        QVERIFY(a && a->complete());
        totalPatches_ = a->outcomes.size();
        QVERIFY(totalPatches_ > 10);
        QCOMPARE(c->progress().total, totalPatches_);
        QCOMPARE(c->progress().done, totalPatches_);
        QCOMPARE(c->progress().inferred, totalPatches_);
        QCOMPARE(c->progress().reused, std::size_t{0});
        QProgressBar* bar = window_->analysisPanel()->progressBar();
        QCOMPARE(bar->maximum(), int(totalPatches_));
        QCOMPARE(bar->value(), bar->maximum());

        // The CAM layer: the core's slide-wide stitching (a complete run is shown at the whole
        // slide's range; during the run the first heat's scale is kept: heat_scale_test), each
        // cell coloured as colouriseMap does.
        QVERIFY(c->results()->complete && !c->results()->scaleFixed);
        float low = 0, high = 0;
        const FloatRaster cam = stitchCam(*a, CamNormalisation::Slide, &low, &high);
        HeatmapOverlay* overlay = c->overlay();
        QCOMPARE(overlay->layer(), HeatmapOverlay::Layer::Cam);
        QCOMPARE(overlay->threshold(), 0.0);
        const auto shown = overlay->shownRaster();
        QVERIFY(shown);
        QCOMPARE(shown->width, cam.width);
        QCOMPARE(shown->height, cam.height);
        QCOMPARE(shown->cellSize, cam.cellSize);
        const QImage image = overlay->image();
        QCOMPARE(image.size(), QSize(cam.width, cam.height));
        int mismatches = 0, coloured = 0;
        for (int y = 0; y < cam.height; ++y)
            for (int x = 0; x < cam.width; ++x) {
                mismatches += !sameFloat(shown->at(x, y), cam.at(x, y));
                mismatches += image.pixel(x, y) != colourOf(cam.at(x, y), ColourMap::Jet);
                coloured += !std::isnan(cam.at(x, y));
            }
        QCOMPARE(mismatches, 0);
        QVERIFY(coloured > 0);
        QCOMPARE(c->results()->camLow, low);
        QCOMPARE(c->results()->camHigh, high);
        QVERIFY(window_->analysisPanel()->colourBar()->rawRangeText().contains(
            QString::number(high, 'g', 4)));

        // The summary is the core's.
        const AnalysisSummary summary = summarise(*a);
        QVERIFY(window_->analysisPanel()->scoreLabel()->text().contains(
            QString::number(summary.topMean, 'f', 3)));
        QCOMPARE(window_->analysisPanel()->histogram()->bins(), summary.histogram);
        QCOMPARE(window_->analysisPanel()->regionList()->count(), int(summary.topRegions.size()));

        // The probability layer, in viridis, with a threshold: cells below it are transparent.
        AnalysisPanel* panel = window_->analysisPanel();
        panel->layerCombo()->setCurrentIndex(1);
        panel->colourMapCombo()->setCurrentText("viridis");
        panel->thresholdSlider()->setValue(40);
        QCOMPARE(overlay->layer(), HeatmapOverlay::Layer::Probability);
        const FloatRaster probability = probabilityRaster(*a, 1);
        const QImage probabilityImage = overlay->image();
        QCOMPARE(probabilityImage.size(), QSize(probability.width, probability.height));
        for (int y = 0; y < probability.height; ++y)
            for (int x = 0; x < probability.width; ++x) {
                const float v = probability.at(x, y);
                const QRgb expected = v < 0.4f ? 0 : colourOf(v, ColourMap::Viridis);
                mismatches += probabilityImage.pixel(x, y) != expected;
            }
        QCOMPARE(mismatches, 0);
        panel->layerCombo()->setCurrentIndex(0);
        panel->colourMapCombo()->setCurrentText("jet");
        panel->thresholdSlider()->setValue(0);
        QCOMPARE(QSettings().value("analysis/colourMap").toString(), QString("jet"));
    }

    // The heatmap is really on screen: zoomed on the hottest cell, the window's pixel there is the
    // slide blended with the cell's colour; H hides it (the slide alone), H again brings it back.
    void heatmapIsPaintedAndHTogglesIt() {
        AnalysisController* c = current();
        QVERIFY(c && c->overlay()->shownRaster());
        SlideView* view = c->view();
        const FloatRaster& cam = *c->overlay()->shownRaster();
        // The hottest cell inside the slide (the last patches reach past its edge, where the
        // heatmap is clipped).
        const ImageInfo& info = view->document()->info();
        int best = -1;
        for (int i = 0; i < int(cam.values.size()); ++i) {
            const double x = (i % cam.width + 1) * cam.cellSize,
                         y = (i / cam.width + 1) * cam.cellSize;
            if (x > double(info.width()) || y > double(info.height())) continue;
            if (!std::isnan(cam.values[i]) && (best < 0 || cam.values[i] > cam.values[best]))
                best = i;
        }
        QVERIFY(best >= 0);
        const QPointF centre((best % cam.width + 0.5) * cam.cellSize,
                             (best / cam.width + 0.5) * cam.cellSize);
        window_->analysisPanel()->opacitySlider()->setValue(60);
        view->setScale(4.0);  // a cell is 30+ screen pixels: no blending with its neighbours
        view->setCentre(centre.x(), centre.y());
        QVERIFY(waitLoaded(view));
        const QPoint at = view->mapTo(window_.get(), view->imageToScreen(centre).toPoint());

        const int paintsBefore = c->overlay()->heatmapPaints();
        const QRgb withHeat = window_->grab().toImage().pixel(at);
        QVERIFY(c->overlay()->heatmapPaints() > paintsBefore);
        QAction* heatmap = window_->findChild<QAction*>("showHeatmapAction");
        QVERIFY(heatmap && heatmap->isChecked());
        QCOMPARE(heatmap->shortcut(), QKeySequence("H"));
        heatmap->trigger();
        QVERIFY(!c->overlay()->heatmapVisible());
        const QRgb slideOnly = window_->grab().toImage().pixel(at);
        const QRgb colour = colourOf(cam.values[best], ColourMap::Jet);
        const QRgb blend = qRgb(int(0.4 * qRed(slideOnly) + 0.6 * qRed(colour) + 0.5),
                                int(0.4 * qGreen(slideOnly) + 0.6 * qGreen(colour) + 0.5),
                                int(0.4 * qBlue(slideOnly) + 0.6 * qBlue(colour) + 0.5));
        qInfo("slide %06x, heat colour %06x, on screen %06x, expected %06x", slideOnly & 0xffffff,
              colour & 0xffffff, withHeat & 0xffffff, blend & 0xffffff);
        QVERIFY(channelDiff(withHeat, slideOnly) >= 30);
        QVERIFY(channelDiff(withHeat, blend) <= 6);
        heatmap->trigger();
        QVERIFY(c->overlay()->heatmapVisible());
        QVERIFY(channelDiff(window_->grab().toImage().pixel(at), withHeat) <= 1);
        // The key itself, typed on the slide.
        window_->activateWindow();
        if (QTest::qWaitForWindowActive(window_.get())) {
            view->setFocus();
            QTest::keyClick(view, Qt::Key_H);
            QVERIFY(!c->overlay()->heatmapVisible());
            QTest::keyClick(view, Qt::Key_H);
            QVERIFY(c->overlay()->heatmapVisible());
        } else {
            qInfo("the window is not active here: the H key itself is not typed");
        }

        // T: the tissue outline.
        QAction* outline = window_->findChild<QAction*>("showTissueOutlineAction");
        QVERIFY(outline && !outline->isChecked());
        QCOMPARE(outline->shortcut(), QKeySequence("T"));
        QVERIFY(!c->overlay()->outlines().empty());
        outline->trigger();
        QVERIFY(c->overlay()->outlineVisible());

        // What the heatmap adds to a paint of a full view at 1:1 (informative: the CPU is shared).
        view->setScale(1.0);
        QVERIFY(waitLoaded(view));
        auto paintMs = [view] {
            double total = 0;
            for (int i = 0; i < 40; ++i) {
                view->repaint();
                total += view->lastPaintMilliseconds();
            }
            return total / 40;
        };
        const double withHeatMs = paintMs();
        heatmap->trigger();
        const double withoutMs = paintMs();
        heatmap->trigger();
        qInfo("paint of a %dx%d view at 1:1: %.2f ms with the heatmap, %.2f ms without",
              view->width(), view->height(), withHeatMs, withoutMs);

        // The screenshot for the docs: the whole slide with its heatmap (cool cells left out) and
        // the tissue outline, the Analysis dock with the summary in view.
        window_->analysisPanel()->opacitySlider()->setValue(55);
        window_->analysisPanel()->thresholdSlider()->setValue(30);
        window_->resize(1600, 1000);
        auto* overviewDock = window_->findChild<QDockWidget*>("overviewDock");
        auto* analysisDock = window_->findChild<QDockWidget*>("analysisDock");
        QVERIFY(overviewDock && analysisDock && analysisDock->isVisible());
        window_->resizeDocks({overviewDock, analysisDock}, {150, 850}, Qt::Vertical);
        QTest::qWait(50);
        view->fitToWindow();
        QVERIFY(waitLoaded(view));
        const QImage shot = window_->grab().toImage();
        const QString dir = QString::fromLocal8Bit(qgetenv("LUCIDA_SCREENSHOT_DIR"));
        if (!dir.isEmpty()) QVERIFY(shot.save(QDir(dir).filePath("screenshot-heatmap.png")));
        window_->analysisPanel()->thresholdSlider()->setValue(0);
        outline->trigger();
        QVERIFY(!c->overlay()->outlineVisible());
    }

    // Clicking a top region centres the view on it, showing it with as much again around it, but
    // never beyond the scan's magnification (scale 1, the slide's objective power), or twice that
    // with Shift held.
    void regionClickCentresTheView() {
        AnalysisController* c = current();
        QVERIFY(c);
        SlideView* view = c->view();
        QVERIFY(view->document()->info().objectivePower.has_value());
        const double power = *view->document()->info().objectivePower;
        QListWidget* list = window_->analysisPanel()->regionList();
        QVERIFY(list->count() > 0);
        QListWidgetItem* item = list->item(0);
        const QRectF region = item->data(Qt::UserRole).toRectF();
        QVERIFY(!region.isEmpty());
        auto fitScale = [view](const QRectF& r) {
            return std::min(view->width(), view->height()) /
                   (3.0 * std::max(r.width(), r.height()));
        };
        auto centred = [view](const QRectF& r) {
            const QPointF centre =
                view->screenToImage(QPointF(view->width() / 2.0, view->height() / 2.0));
            return std::abs(centre.x() - r.center().x()) < 1 &&
                   std::abs(centre.y() - r.center().y()) < 1;
        };
        const QRect visual = list->visualItemRect(item);
        QTest::mouseClick(list->viewport(), Qt::LeftButton, {}, visual.center());
        QVERIFY(centred(region));
        // The region fitted, capped at 1:1 (or at the view's least zoom, for a large region).
        auto fittedOrLeast = [view](double expected) {
            ViewGeometry whole = view->viewGeometry();
            whole.fit(double(view->document()->info().width()),
                      double(view->document()->info().height()));
            expected = std::max(expected, whole.scale / 4);  // SlideView's least zoom
            return std::abs(view->viewGeometry().scale - expected) < 1e-9 * expected;
        };
        QVERIFY(fittedOrLeast(std::min(1.0, fitScale(region))));
        QVERIFY(view->magnification() && *view->magnification() <= power * (1 + 1e-9));

        // A small region: the cap holds (before: about 8× the scan's magnification).
        const QRectF small(region.center() - QPointF(16, 16), QSizeF(32, 32));
        QVERIFY(fitScale(small) > 2.0);
        emit window_->analysisPanel()->regionActivated(small, false);
        QVERIFY(centred(small));
        QCOMPARE(view->viewGeometry().scale, 1.0);
        QCOMPARE(*view->magnification(), power);
        emit window_->analysisPanel()->regionActivated(small, true);  // Shift: up to 2× the scan
        QCOMPARE(view->viewGeometry().scale, 2.0);
        QCOMPARE(*view->magnification(), 2 * power);
        view->fitToWindow();
        QTest::mouseClick(list->viewport(), Qt::LeftButton, Qt::ShiftModifier, visual.center());
        QVERIFY(fittedOrLeast(std::min(2.0, fitScale(region))));
        QVERIFY(view->viewGeometry().scale <= 2.0);
    }

    // Another class: the old heatmap is gone at once (not painted any more) and the analysis
    // runs again for the new class; back to the first class, it comes from the store.
    void classChangeDropsTheOverlayAndRestarts() {
        AnalysisController* c = current();
        QVERIFY(c && !c->overlay()->isEmpty());
        SlideView* view = c->view();
        view->fitToWindow();
        QComboBox* classes = window_->analysisPanel()->classCombo();
        classes->setCurrentIndex(0);
        QVERIFY(c->overlay()->isEmpty());
        QVERIFY(!c->results());
        QCOMPARE(c->state(), AnalysisController::State::Running);
        QCOMPARE(c->effectiveClassIndex(), 0);
        const int paints = c->overlay()->heatmapPaints();
        view->repaint();
        QCOMPARE(c->overlay()->heatmapPaints(), paints);
        QTRY_VERIFY_WITH_TIMEOUT(c->state() != AnalysisController::State::Running, kRunTimeoutMs);
        QCOMPARE(c->state(), AnalysisController::State::Complete);
        QCOMPARE(c->progress().inferred, totalPatches_);
        const auto a = stored(c, 0);
        QVERIFY(a && a->complete());
        const FloatRaster cam = stitchCam(*a, CamNormalisation::Slide);
        const auto shown = c->overlay()->shownRaster();
        QVERIFY(shown && shown->values.size() == cam.values.size());
        for (std::size_t i = 0; i < cam.values.size(); ++i)
            QVERIFY(sameFloat(shown->values[i], cam.values[i]));

        classes->setCurrentIndex(1);
        QVERIFY(c->overlay()->isEmpty());
        QTRY_VERIFY_WITH_TIMEOUT(c->state() == AnalysisController::State::Complete, 60000);
        QCOMPARE(c->progress().inferred, std::size_t{0});
        QCOMPARE(c->progress().reused, totalPatches_);
    }

    // A new window on the same slide: the heatmap comes from the store, the model runs on nothing.
    void reopenedSlideShowsTheStoredHeatmap() {
        window_.reset();
        window_ = makeWindow();
        QVERIFY(window_);
        QVERIFY(openModel(window_.get(), modelPath_));
        SlideView* view = openSlide(window_.get(), slidePath_);
        QVERIFY(view);
        AnalysisController* c = AnalysisController::of(view);
        QVERIFY(c && c->overlay()->isEmpty());
        QCOMPARE(c->effectiveClassIndex(), 1);
        QTest::mouseClick(window_->analysisPanel()->analyseButton(), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(c->state() == AnalysisController::State::Complete, 60000);
        QCOMPARE(c->progress().reused, totalPatches_);
        QCOMPARE(c->progress().total, totalPatches_);
        QCOMPARE(c->progress().inferred, std::size_t{0});
        QCOMPARE(window_->analysisPanel()->progressBar()->value(), int(totalPatches_));
        QVERIFY(window_->analysisPanel()->progressLabel()->text().contains("stored"));
        const auto a = stored(c, 1);
        QVERIFY(a);
        const FloatRaster cam = stitchCam(*a, CamNormalisation::Slide);
        const auto shown = c->overlay()->shownRaster();
        QVERIFY(shown && shown->values.size() == cam.values.size());
        for (std::size_t i = 0; i < cam.values.size(); ++i)
            QVERIFY(sameFloat(shown->values[i], cam.values[i]));

        // Per-patch min-max is the core's too.
        window_->analysisPanel()->normalisationCombo()->setCurrentIndex(1);
        const FloatRaster perPatch = stitchCam(*a, CamNormalisation::Patch);
        QTRY_VERIFY(c->results() && c->results()->normalisation == CamNormalisation::Patch);
        QCOMPARE(c->overlay()->shownRaster()->values.size(), perPatch.values.size());
        for (std::size_t i = 0; i < perPatch.values.size(); ++i)
            QVERIFY(sameFloat(c->overlay()->shownRaster()->values[i], perPatch.values[i]));
        window_->analysisPanel()->normalisationCombo()->setCurrentIndex(0);
    }

    // Another process writing these results (their folder's lock held, as by a `lucida-cli
    // analyse`): the viewer shows what is stored, says who is writing and waits; once the writer
    // is done it finishes from the stored results, running nothing.
    void anotherWriterIsWaitedFor() {
        AnalysisController* c = current();
        QVERIFY(c);
        const auto a = stored(c, 1);
        QVERIFY(a && a->complete());
        std::string holder;
        auto lock = ResultsLock::tryAcquire(a->resultsDir, &holder);
        QVERIFY(lock);
        QTest::mouseClick(window_->analysisPanel()->analyseButton(), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(c->progress().note.contains("is writing the results"), 20000);
        const QString label = window_->analysisPanel()->progressLabel()->text();
        QVERIFY2(label.contains("is writing the results"), qPrintable(label));
        QCOMPARE(c->progress().done, totalPatches_);  // what is stored, shown while waiting
        QCOMPARE(c->state(), AnalysisController::State::Running);
        lock.reset();
        QTRY_VERIFY_WITH_TIMEOUT(c->state() == AnalysisController::State::Complete, 60000);
        QCOMPARE(c->progress().inferred, std::size_t{0});
        QCOMPARE(c->progress().reused, totalPatches_);
        // The waiting note has gone.
        QVERIFY2(!c->progress().note.contains("is writing the results"),
                 qPrintable(c->progress().note));
    }

    // Cancel stops the run; what was done stays shown, and the next start resumes it.
    void cancelStopsAndTheNextRunResumes() {
        AnalysisController* c = current();
        QVERIFY(c);
        c->setBatchSize(2);
        window_->analysisPanel()->methodCombo()->setCurrentText("xgradcam");
        QCOMPARE(c->method(), QString("xgradcam"));
        QCOMPARE(c->state(), AnalysisController::State::Running);  // it was wanted: restarted
        QTRY_VERIFY_WITH_TIMEOUT(c->progress().done > 0, 60000);
        window_->analysisPanel()->cancelButton()->click();
        QVERIFY(c->state() == AnalysisController::State::Cancelled ||
                c->state() == AnalysisController::State::Complete);
        QTRY_VERIFY_WITH_TIMEOUT(!c->isBusy(), 60000);
        const std::size_t done = c->progress().done;
        qInfo("cancelled at %zu of %zu", done, c->progress().total);
        QVERIFY(!c->overlay()->isEmpty());
        QTest::mouseClick(window_->analysisPanel()->analyseButton(), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(c->state() == AnalysisController::State::Complete, kRunTimeoutMs);
        QCOMPARE(c->progress().reused, done);
        QCOMPARE(c->progress().reused + c->progress().inferred, totalPatches_);
        window_->analysisPanel()->methodCombo()->setCurrentText("gradcam");
        QTRY_VERIFY_WITH_TIMEOUT(c->state() == AnalysisController::State::Complete, 60000);
    }

    // Another model: once it is open, the old heatmap goes and the analysis runs with the new one
    // (another file: nothing stored for it).
    void changingTheModelDropsTheOverlayAndRestarts() {
        AnalysisController* c = current();
        QVERIFY(c && !c->overlay()->isEmpty());
        const QString other = tmp_->filePath("cnn2.pt");
        QVERIFY(QFile::copy(modelPath_, other));
        QVERIFY(QFile::copy(tmp_->filePath("cnn.json"), tmp_->filePath("cnn2.json")));
        const auto before = c->model();
        QSignalSpy opened(window_.get(), &MainWindow::modelOpened);
        window_->openModel(other);
        QVERIFY(opened.wait(60000));
        QVERIFY(c->model() && c->model() != before);
        QVERIFY(c->overlay()->isEmpty());
        QCOMPARE(c->state(), AnalysisController::State::Running);
        QTRY_VERIFY_WITH_TIMEOUT(c->state() == AnalysisController::State::Complete, kRunTimeoutMs);
        QCOMPARE(c->progress().inferred, totalPatches_);
        QVERIFY(!c->overlay()->isEmpty());
        QCOMPARE(window_->analysisPanel()->modelCombo()->currentData().toString(), other);
        QCOMPARE(QSettings().value("analysis/lastModel").toString(), other);
    }

    // Zoomed far out, a cell is smaller than a screen pixel: the overlay draws halved copies whose
    // cells are the mean of the cells they cover (a 0/1 checkerboard shows as 0.5, not as an
    // aliased plaid); the copies come made with the results, so painting makes none.
    void zoomedOutHeatIsTheMeanAndMadeAhead() {
        auto board = std::make_shared<FloatRaster>();
        board->width = board->height = 64;
        board->cellSize = 1;
        for (int y = 0; y < 64; ++y)
            for (int x = 0; x < 64; ++x) board->values.push_back(float((x + y) % 2));
        auto paint = [](HeatmapOverlay& overlay) {
            QImage canvas(4, 4, QImage::Format_ARGB32_Premultiplied);
            canvas.fill(Qt::white);
            QPainter painter(&canvas);
            ViewGeometry view;  // the 64-cell board on the 4 x 4 canvas
            view.scale = 1.0 / 16;
            view.centreX = view.centreY = 32;
            view.viewWidth = view.viewHeight = 4;
            SceneRenderer::paintLayers(painter, overlay.layers(), view);
            return canvas;
        };
        const QRgb mean = colourOf(0.5f, ColourMap::Jet);
        for (const bool ahead : {true, false}) {
            HeatmapOverlay overlay;
            overlay.setImageSize(QSizeF(64, 64));
            overlay.setOpacity(1);
            overlay.setRasters(
                board, nullptr,
                ahead ? colouriseWithReductions(*board, ColourMap::Jet, 0) : ColouredRaster{});
            const QImage canvas = paint(overlay);
            QCOMPARE(overlay.heatmapPaints(), 1);
            QCOMPARE(overlay.reductionsMadeInPaint(), ahead ? 0 : 4);
            for (int y = 0; y < 4; ++y)
                for (int x = 0; x < 4; ++x) QVERIFY(channelDiff(canvas.pixel(x, y), mean) <= 2);
        }
    }

    // Live: with a model open, what is on screen is analysed as the user looks; a pan cancels
    // the requests left behind (counted) and nothing outside the two views is run; then "Analyse
    // slide" widens the same run to the whole slide.
    void liveHeatmapFollowsTheViewAndCancelsStaleRequests() {
        window_.reset();
        QSettings().remove("analysis/lastModel");  // a model remembered would open at start-up
        window_ = makeWindow();
        QVERIFY(window_);
        QAction* live = window_->findChild<QAction*>("liveHeatmapAction");
        QVERIFY(live && !live->isChecked());
        live->setChecked(true);
        QCOMPARE(QSettings().value("analysis/live").toBool(), true);

        // A fresh copy of the slide (nothing stored) and a slow model (ResNet-50 at 224 px,
        // declared for the slide's own 0.499 µm/px), so requests are still queued when we pan.
        const QString slide = tmp_->filePath("live.svs");
        QVERIFY(QFile::copy(slidePath_, slide));
        QFile reference(referenceDir() + "/resnet50.traced.json");
        QVERIFY(reference.open(QIODevice::ReadOnly));
        QJsonObject sidecar = QJsonDocument::fromJson(reference.readAll()).object();
        sidecar["microns_per_pixel"] = 0.499;
        const QString modelPath = copyModel("resnet50.traced.pt", "resnet50", sidecar);
        QVERIFY(!modelPath.isEmpty());

        SlideView* view = openSlide(window_.get(), slide);
        QVERIFY(view);
        AnalysisController* c = AnalysisController::of(view);
        QVERIFY(c && c->isLive());
        QCOMPARE(c->state(), AnalysisController::State::Idle);  // no model yet
        c->setBatchSize(2);
        view->setScale(1.0);
        view->setCentre(700, 500);  // the top-left part of the 3000 x 2000 slide
        auto visible = [view] {
            const QPointF a = view->screenToImage(QPointF(0, 0));
            const QPointF b = view->screenToImage(QPointF(view->width(), view->height()));
            return std::array<double, 4>{a.x(), a.y(), b.x() - a.x(), b.y() - a.y()};
        };
        const auto first = visible();
        QVERIFY(openModel(window_.get(), modelPath));
        QCOMPARE(c->state(), AnalysisController::State::Live);
        QTRY_VERIFY_WITH_TIMEOUT(c->progress().done > 0, 60000);
        view->setCentre(2300, 1500);  // the bottom-right part: no patch in both views
        const auto second = visible();
        QTRY_VERIFY_WITH_TIMEOUT(c->progress().idle, kRunTimeoutMs);
        QCOMPARE(c->state(), AnalysisController::State::Live);
        QVERIFY(!c->isBusy());
        QVERIFY(c->results() && !c->overlay()->isEmpty());

        const auto model = Model::open(modelPath.toStdString());
        AnalysisSettings settings;
        settings.mode = AnalysisMode::Patch;  // the window's (initTestCase)
        const auto a = loadSlideAnalysis(*openImage(slide.toStdString()), *model, settings,
                                         c->resultsRoot().toStdString());
        QVERIFY(a);
        auto inside = [](const Patch& p, const std::array<double, 4>& v) {
            return p.x < v[0] + v[2] && p.x + p.width > v[0] && p.y < v[1] + v[3] &&
                   p.y + p.height > v[1];
        };
        std::size_t inFirst = 0, doneFirst = 0, inSecond = 0;
        for (std::size_t i = 0; i < a->outcomes.size(); ++i) {
            const Patch& p = a->grid.patches[i];
            const bool f = inside(p, first), s = inside(p, second);
            QVERIFY(!(f && s));
            if (s) {
                ++inSecond;
                QVERIFY2(a->outcomes[i].done, "a patch in view was not analysed");
            } else if (f) {
                ++inFirst;
                doneFirst += a->outcomes[i].done;
            } else {
                QVERIFY2(!a->outcomes[i].done, "a patch never in view was analysed");
            }
        }
        qInfo("first view %zu patches (%zu done before the pan), second view %zu; %zu cancelled",
              inFirst, doneFirst, inSecond, c->progress().cancelled);
        QVERIFY(inFirst > 10 && inSecond > 10);
        // Every request of the first view was either done or cancelled, once.
        QCOMPARE(c->progress().cancelled, inFirst - doneFirst);
        QVERIFY(c->progress().cancelled > 0);
        QCOMPARE(c->progress().done, doneFirst + inSecond);
        QVERIFY(window_->analysisPanel()->progressLabel()->text().contains("stale"));

        // Analyse slide: the same run goes on to every tissue patch.
        QAction* analyse = window_->findChild<QAction*>("analyseSlideAction");
        analyse->trigger();
        QCOMPARE(c->state(), AnalysisController::State::Running);
        QTRY_VERIFY_WITH_TIMEOUT(c->state() == AnalysisController::State::Complete, kRunTimeoutMs);
        QCOMPARE(c->progress().done, a->outcomes.size());
        QCOMPARE(c->progress().inferred, a->outcomes.size());
        live->setChecked(false);
        QSettings().setValue("analysis/live", false);
    }

    // The panel's words: no "0 / 1 patches" before there is anything to count; a model's whole
    // name in the model box; for a whole image (one patch) an "Image score", not a slide's
    // top-k mean and "Patches >= 0.5: 100 % of 1".
    void panelWordsFitWhatIsShown() {
        window_.reset();
        QSettings().remove("analysis/lastModel");
        window_ = makeWindow();
        QVERIFY(window_);
        AnalysisPanel* panel = window_->analysisPanel();
        QCOMPARE(panel->progressBar()->text(), QString());
        const QString modelPath =
            copyModel("smallcnn.traced.pt", "demo-smallcnn-whole-image",
                      json(R"({"classes": ["normal", "lesion"], "output": "sigmoid",
                               "input_size": [128, 128]})"));
        QVERIFY(!modelPath.isEmpty());
        QVERIFY(openModel(window_.get(), modelPath));
        QComboBox* models = panel->modelCombo();
        QCOMPARE(models->currentText(), QString("demo-smallcnn-whole-image.pt"));
        QStyleOptionComboBox option;
        option.initFrom(models);
        const QRect field = models->style()->subControlRect(QStyle::CC_ComboBox, &option,
                                                            QStyle::SC_ComboBoxEditField, models);
        QVERIFY2(field.width() >= models->fontMetrics().horizontalAdvance(models->currentText()),
                 qPrintable(QString("%1 px for the name").arg(field.width())));
        QCOMPARE(panel->progressBar()->text(), QString());

        const QString image = tmp_->filePath("mr-words.dcm");
        QVERIFY(QFile::copy(QString::fromStdString(fixtures::path("dicom/MR_small.dcm")), image));
        SlideView* view = openSlide(window_.get(), image);
        QVERIFY(view);
        AnalysisController* c = AnalysisController::of(view);
        QVERIFY(c);
        window_->findChild<QAction*>("analyseSlideAction")->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(c->state() == AnalysisController::State::Complete, 60000);
        QVERIFY(c->results() && c->results()->summary.wholeImage);
        const double score = c->results()->summary.topMean;
        QCOMPARE(panel->scoreLabel()->text(),
                 QString("Image score: <b>%1</b>").arg(score, 0, 'f', 3));
        QVERIFY(panel->shareLabel()->isHidden());
        QCOMPARE(panel->progressBar()->text(), QString("1 / 1 image"));
        window_.reset();
    }

    // An MRI series with a model for whole images: the heat is the whole slice's, and it follows
    // the slice shown (the old heat gone at once, each slice stored on its own).
    void mriHeatFollowsTheSlice() {
        window_.reset();
        QSettings().remove("analysis/lastModel");
        window_ = makeWindow();
        QVERIFY(window_);
        QAction* live = window_->findChild<QAction*>("liveHeatmapAction");
        live->setChecked(true);
        const QString series = tmp_->filePath("mr3.dcm");
        QVERIFY(QFile::copy(QString::fromStdString(fixtures::path("dicom/MR_small_3frame.dcm")),
                            series));
        const QString modelPath =
            copyModel("smallcnn.traced.pt", "mri",
                      json(R"({"classes": ["normal", "lesion"], "output": "sigmoid",
                               "input_size": [128, 128]})"));
        QVERIFY(!modelPath.isEmpty());
        QVERIFY(openModel(window_.get(), modelPath));
        SlideView* view = openSlide(window_.get(), series);
        QVERIFY(view);
        AnalysisController* c = AnalysisController::of(view);
        QVERIFY(c);
        QCOMPARE(window_->analysisPanel()->fitCombo()->currentText(), QString("Automatic"));
        QTRY_VERIFY_WITH_TIMEOUT(c->state() == AnalysisController::State::Complete, 60000);
        QCOMPARE(c->progress().total, std::size_t{1});

        const auto model = Model::open(modelPath.toStdString());
        const auto source = openImage(series.toStdString());
        auto storedCam = [&](int slice) {
            AnalysisSettings settings;
            settings.slice = slice;
            settings.mode = AnalysisMode::Patch;  // the window's (initTestCase)
            const auto a =
                loadSlideAnalysis(*source, *model, settings, c->resultsRoot().toStdString());
            return a ? stitchCam(*a, CamNormalisation::Slide) : FloatRaster{};
        };
        auto shownEquals = [&](const FloatRaster& cam) {
            const auto shown = c->overlay()->shownRaster();
            return shown && !cam.values.empty() && shown->width == cam.width &&
                   shown->cellSize == cam.cellSize && shown->values == cam.values;
        };
        const FloatRaster first = storedCam(0);
        QVERIFY(first.width > 0);
        QVERIFY(first.width * first.cellSize >= 64 && (first.width - 1) * first.cellSize < 64);
        QVERIFY(shownEquals(first));

        view->document()->setSlice(2);
        QVERIFY(c->overlay()->isEmpty());
        QTRY_VERIFY_WITH_TIMEOUT(c->state() == AnalysisController::State::Complete, 60000);
        QCOMPARE(c->progress().inferred, std::size_t{1});
        const FloatRaster third = storedCam(2);
        QVERIFY(shownEquals(third));
        QVERIFY(third.values != first.values);

        view->document()->setSlice(0);
        QTRY_VERIFY_WITH_TIMEOUT(c->state() == AnalysisController::State::Complete, 60000);
        QCOMPARE(c->progress().inferred, std::size_t{0});
        QCOMPARE(c->progress().reused, std::size_t{1});
        QVERIFY(shownEquals(first));
        live->setChecked(false);
    }

    // Start-up with a remembered model (the reporter's: a scripted ResNet-50 without sidecar)
    // opens it at once: the panel is ready within seconds, without Analyse Slide being clicked.
    void rememberedModelIsReadyAtStartUp() {
        window_.reset();
        QSettings().setValue("analysis/live", false);
        const QString remembered = tmp_->filePath("r50_scripted.pt");
        QVERIFY(QFile::copy(referenceDir() + "/resnet50.scripted.pt", remembered));
        QVERIFY(!QFile::exists(tmp_->filePath("r50_scripted.json")));  // no sidecar
        QSettings().setValue("analysis/lastModel", remembered);
        QElapsedTimer clock;
        clock.start();
        window_ = makeWindow();
        QVERIFY(window_);
        SlideView* view = openSlide(window_.get(), slidePath_);
        QVERIFY(view);
        AnalysisController* c = AnalysisController::of(view);
        QVERIFY(c);
        AnalysisPanel* panel = window_->analysisPanel();
        QTRY_VERIFY_WITH_TIMEOUT(window_->hasModel() && c->model(), 20000);
        qInfo("the remembered model was ready %lld ms after the window was made",
              qint64(clock.elapsed()));
        QCOMPARE(window_->modelPath(), remembered);
        QCOMPARE(QString::fromStdString(c->model()->path()), remembered);
        QCOMPARE(panel->modelCombo()->currentData().toString(), remembered);
        QCOMPARE(panel->classCombo()->count(), 3);  // the ResNet's three outputs, numbered
        QCOMPARE(panel->progressLabel()->text(), QString("Ready."));
        QVERIFY(panel->analyseButton()->isEnabled());
        for (const QLabel* label : panel->findChildren<QLabel*>())
            QVERIFY2(!label->text().contains("Opening"), qPrintable(label->text()));
        QCOMPARE(c->state(), AnalysisController::State::Idle);  // live is off: nothing runs
    }

    // A remembered model that is gone says so in the panel at start-up (no "Opening…" forever,
    // no dialog in the user's face before the window is even used).
    void missingRememberedModelSaysSo() {
        window_.reset();
        const QString gone = tmp_->filePath("gone.pt");
        QSettings().setValue("analysis/lastModel", gone);
        window_ = makeWindow();
        QVERIFY(window_);
        AnalysisPanel* panel = window_->analysisPanel();
        auto says = [panel](const QString& text) {
            const auto labels = panel->findChildren<QLabel*>();
            return std::any_of(labels.begin(), labels.end(),
                               [&](const QLabel* l) { return l->text().contains(text); });
        };
        QTRY_VERIFY_WITH_TIMEOUT(says("Cannot open gone.pt"), 10000);
        QVERIFY(!says("Opening"));
        QVERIFY(!window_->hasModel());
        QVERIFY(!qobject_cast<QMessageBox*>(QApplication::activeModalWidget()));
    }

    // Switching models leaves no stale frame: from the moment another model is asked for, every
    // frame painted shows no heat or the new model's, and the panel shows neither the old
    // model's classes nor its score under the new name.
    void modelSwitchPaintsNoStaleHeat() {
        window_.reset();
        QSettings().remove("analysis/lastModel");
        window_ = makeWindow();
        QVERIFY(window_);
        QVERIFY(openModel(window_.get(), modelPath_));
        SlideView* view = openSlide(window_.get(), slidePath_);
        QVERIFY(view);
        AnalysisController* c = AnalysisController::of(view);
        QVERIFY(c);
        AnalysisPanel* panel = window_->analysisPanel();
        QTest::mouseClick(panel->analyseButton(), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(c->state() == AnalysisController::State::Complete, kRunTimeoutMs);
        QVERIFY(!c->overlay()->isEmpty());
        QVERIFY(panel->scoreLabel()->text().contains("<b>"));
        const QString old = QString::fromStdString(c->model()->path());

        // Another model, with other class names.
        const QString other =
            copyModel("smallcnn.traced.pt", "stroma",
                      json(R"({"classes": ["stroma", "tumour"], "output": "sigmoid",
                               "input_size": [128, 128], "microns_per_pixel": 0.998})"));
        QVERIFY(!other.isEmpty());
        // Every frame painted from now on: whether heat is drawn, and the model it comes from.
        struct Frame {
            bool heat;
            QString model;
        };
        std::vector<Frame> frames;
        struct PaintWatch : QObject {
            std::function<void()> onPaint;
            bool eventFilter(QObject*, QEvent* e) override {
                if (e->type() == QEvent::Paint) onPaint();
                return false;
            }
        } watch;
        watch.onPaint = [&] {
            const bool heat = c->overlay()->heatmapVisible() && !c->overlay()->isEmpty();
            frames.push_back({heat, heat && c->results() ? c->results()->modelPath : ""});
        };
        view->installEventFilter(&watch);
        QTimer repaint;  // keep painting while the new model opens and runs
        connect(&repaint, &QTimer::timeout, view, qOverload<>(&QWidget::update));
        repaint.start(15);

        QSignalSpy opened(window_.get(), &MainWindow::modelOpened);
        window_->openModel(other);
        view->repaint();  // the first frame after the switch
        QVERIFY(!frames.empty());
        QVERIFY2(!frames.front().heat, qPrintable("heat of " + frames.front().model));
        for (int i = 0; i < panel->classCombo()->count(); ++i)
            QVERIFY(panel->classCombo()->itemText(i) != "malignant");
        QVERIFY2(!panel->scoreLabel()->text().contains("<b>"),
                 qPrintable(panel->scoreLabel()->text()));
        QVERIFY(opened.wait(60000));
        QCOMPARE(panel->classCombo()->currentText(), QString("tumour"));
        QTRY_VERIFY_WITH_TIMEOUT(c->state() == AnalysisController::State::Complete, kRunTimeoutMs);
        QTest::qWait(50);
        view->repaint();
        repaint.stop();
        view->removeEventFilter(&watch);

        int stale = 0, fresh = 0;
        for (const Frame& f : frames) {
            stale += f.heat && f.model != other;
            fresh += f.heat && f.model == other;
        }
        qInfo(
            "%zu frames painted after the switch from %s: %d with the new model's heat, %d "
            "stale",
            frames.size(), qPrintable(QFileInfo(old).fileName()), fresh, stale);
        QCOMPARE(stale, 0);
        QVERIFY(fresh > 0);  // the new heat was painted
        QCOMPARE(QString::fromStdString(c->model()->path()), other);
        QCOMPARE(c->results()->modelPath, other);
    }

    // Analysis > Create Regions from Heat and Heat Inside Annotations, through the real window
    // and its dialogs: a disc of heat becomes one Tumour region of the disc's area, and that
    // region holds all of the heat's energy with the peak inside.
    void heatBecomesRegionsAndIsMeasured() {
        auto window = makeWindow();
        QVERIFY(window);
        SlideView* view = openSlide(window.get(), slidePath_);
        QVERIFY(view);
        AnalysisController* c = AnalysisController::of(view);
        QVERIFY(c);
        // Earlier tests leave a model open: let a run on opening (stored results) finish first,
        // so that the heat set here is the heat shown.
        QTRY_VERIFY_WITH_TIMEOUT(!c->isBusy(), kRunTimeoutMs);
        QTest::qWait(200);
        auto heat = std::make_shared<FloatRaster>();
        heat->cellSize = 32;
        heat->width = 94;
        heat->height = 63;
        heat->values.assign(std::size_t(heat->width) * heat->height, 0.f);
        for (int y = 0; y < heat->height; ++y)
            for (int x = 0; x < heat->width; ++x)
                if (std::hypot(x + 0.5 - 47, y + 0.5 - 31) < 10)
                    heat->values[std::size_t(y) * heat->width + x] = 1.f;
        c->overlay()->setRasters(heat, nullptr);

        QStringList messages;
        // Answers each dialog the actions open: the threshold, the class, then the result box.
        QTimer answer;
        connect(&answer, &QTimer::timeout, this, [&] {
            QWidget* modal = QApplication::activeModalWidget();
            if (auto* input = qobject_cast<QInputDialog*>(modal)) {
                if (input->inputMode() == QInputDialog::DoubleInput)
                    input->setDoubleValue(0.5);
                else
                    input->setTextValue(QStringLiteral("Tumour"));
                input->accept();
            } else if (auto* box = qobject_cast<QMessageBox*>(modal)) {
                messages << box->text();
                box->accept();
            }
        });
        answer.start(50);
        auto trigger = [&](const QString& text) {
            for (QAction* a : window->findChildren<QAction*>())
                if (a->text() == text) return a->trigger(), true;
            return false;
        };
        QVERIFY(trigger(QStringLiteral("Create &Regions from Heat…")));
        const AnnotationSet& set = ViewAnnotations::of(view)->document()->set();
        QCOMPARE(set.items.size(), std::size_t(1));
        QCOMPARE(set.items[0].className, std::string("Tumour"));
        QCOMPARE(set.items[0].tool, std::string("heat-region"));
        const double disc = M_PI * 320.0 * 320.0;
        QVERIFY2(std::abs(geometryArea(set.items[0].geometry) - disc) < 0.08 * disc,
                 qPrintable(QString::number(geometryArea(set.items[0].geometry) / disc)));
        QVERIFY(trigger(QStringLiteral("Heat &Inside Annotations…")));
        QTRY_COMPARE(messages.size(), 1);
        // The box says what the core computes for the region (most of the heat: the outline is
        // smoothed and simplified, so a few edge cells' centres fall outside).
        const HeatInside h = heatInside(*heat, {&set.items[0]});
        QVERIFY(h.energyShare > 0.9 && h.peakInside);
        const QString share = QString::number(100 * h.energyShare, 'f', 1) + "% of the heat";
        QVERIFY2(
            messages[0].contains("1 area(s) hold " + share) && messages[0].contains("lies inside"),
            qPrintable(messages[0]));
    }

    // A GeoJSON file dropped on the window while an image is open is imported into that image's
    // annotations (not opened as an image). The drop event is delivered to the window's event
    // handler directly: offscreen, QApplication routes no drop without a drag in progress.
    void droppedAnnotationFileIsImported() {
        auto window = makeWindow();
        QVERIFY(window);
        SlideView* view = openSlide(window.get(), slidePath_);
        QVERIFY(view);
        AnnotationSet set;
        Annotation a;
        a.className = "Stroma";
        a.geometry.polygons.push_back({{{100, 100}, {400, 100}, {400, 300}}, {}});
        set.items.push_back(a);
        const QString file = tmp_->filePath("dropped.geojson");
        writeAnnotationFile(file.toStdString(), set);
        // What earlier tests left on this image (autosaved) stays; the drop adds one.
        const std::size_t before = ViewAnnotations::of(view)->document()->set().items.size();
        QMimeData mime;
        mime.setUrls({QUrl::fromLocalFile(file)});
        QDropEvent drop(QPointF(200, 200), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        static_cast<QObject*>(window.get())->event(&drop);
        QVERIFY2(window->lastError().isEmpty(), qPrintable(window->lastError()));
        const AnnotationSet& now = ViewAnnotations::of(view)->document()->set();
        QCOMPARE(now.items.size(), before + 1);
        QCOMPARE(now.items.back().className, std::string("Stroma"));
        QCOMPARE(geometryArea(now.items.back().geometry), 30000.0);
        QCOMPARE(window->documentCount(), 1);  // no second tab
    }
};

QTEST_MAIN(AnalysisUiTest)
#include "analysis_ui_test.moc"
