// Colours do not change under the user during a run: the slide-wide CAM scale is fixed by the
// first heat shown, every later heatmap keeps it (a cell once shown keeps its value), the legend
// says the scale is fixed and what lies outside it, and Rescale fits it to what is done, on
// request only. Before, the scale was re-estimated with every partial heatmap.
#include "AnalysisController.h"
#include "AnalysisPanel.h"
#include "MainWindow.h"
#include "SlideView.h"
#include "TileService.h"
#include "fixtures/Fixtures.h"

#include <QComboBox>
#include <QFile>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QToolButton>
#include <QtTest>

#include <cmath>

using namespace lucida;
using namespace lucida::ui;

class HeatScaleTest : public QObject {
    Q_OBJECT
    std::unique_ptr<QTemporaryDir> tmp_;
    std::unique_ptr<TileService> tiles_;

private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName("LucidaTest");
        QCoreApplication::setApplicationName("heat_scale_test");
        QSettings().clear();
        QSettings().setValue("analysis/live", false);
        QSettings().setValue("analysis/mode", "patch");  // 96 patches, in batches (patch mode)
        QSettings().setValue("analysis/resultsBesideImage", true);  // in the temporary folder
        qRegisterMetaType<SlideView*>("SlideView*");
        tmp_ = std::make_unique<QTemporaryDir>();
        QVERIFY(tmp_->isValid());
        tiles_ = std::make_unique<TileService>(std::size_t{128} << 20, 2);
    }

    void scaleStaysFixedUntilRescale() {
        const QString slide = tmp_->filePath("aperio.svs");
        QVERIFY(QFile::copy(QString::fromStdString(fixtures::path("slides/aperio.svs")), slide));
        // The reference small CNN (binary, input 128) at 0.998 µm/px: 96 patches of 256 px.
        const QString model = tmp_->filePath("cnn.pt");
        QVERIFY(QFile::copy(qEnvironmentVariable("LUCIDA_REFERENCE_DIR") + "/smallcnn.traced.pt",
                            model));
        QFile sidecar(tmp_->filePath("cnn.json"));
        QVERIFY(sidecar.open(QIODevice::WriteOnly));
        sidecar.write(R"({"classes": ["benign", "malignant"], "output": "sigmoid",
                          "input_size": [128, 128], "microns_per_pixel": 0.998})");
        sidecar.close();

        MainWindow window(tiles_.get());
        window.resize(1400, 900);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QSignalSpy modelOpened(&window, &MainWindow::modelOpened);
        window.openModel(model);
        QVERIFY(modelOpened.wait(60000));
        QSignalSpy opened(&window, &MainWindow::documentOpened);
        window.openPath(slide);
        QVERIFY(opened.wait(20000));
        auto* view = opened.takeFirst().at(0).value<SlideView*>();
        AnalysisController* c = AnalysisController::of(view);
        QVERIFY(c);
        c->setBatchSize(4);
        c->setPartialIntervalMs(0);  // a heatmap after every batch
        std::vector<std::shared_ptr<const AnalysisResults>> seen;
        connect(c, &AnalysisController::resultsChanged, this, [c, &seen] {
            if (c->results() && c->results()->done > 0) seen.push_back(c->results());
        });
        c->start();
        QTRY_VERIFY_WITH_TIMEOUT(c->state() == AnalysisController::State::Complete, 120000);
        QTRY_VERIFY_WITH_TIMEOUT(!seen.empty() && seen.back()->complete, 10000);
        QVERIFY2(seen.size() >= 4, qPrintable(QString::number(seen.size())));

        // During the run: every heatmap keeps the first one's scale.
        const auto& first = seen.front();
        const auto& complete = seen.back();
        float dataHigh = first->camHigh;
        for (std::size_t i = 0; i + 1 < seen.size(); ++i) {
            const auto& r = *seen[i];
            QVERIFY(!r.complete);
            QCOMPARE(r.camLow, first->camLow);
            QCOMPARE(r.camHigh, first->camHigh);
            if (i > 0) QVERIFY(r.scaleFixed);
            dataHigh = std::max(dataHigh, r.camDataHigh);
        }
        // The run did find values above the first heat's range: re-estimating would have
        // recoloured the slide, which is what this guards against.
        QVERIFY2(dataHigh > first->camHigh,
                 qPrintable(QString("%1 vs %2").arg(dataHigh).arg(first->camHigh)));
        // A cell once shown keeps its value (so its colour) in every later partial heatmap.
        std::size_t comparedCells = 0;
        for (std::size_t i = 1; i + 1 < seen.size(); ++i) {
            const auto& before = seen[i - 1]->cam->values;
            const auto& after = seen[i]->cam->values;
            QCOMPARE(after.size(), before.size());
            for (std::size_t k = 0; k < before.size(); ++k)
                if (!std::isnan(before[k])) {
                    QCOMPARE(after[k], before[k]);
                    ++comparedCells;
                }
        }
        QVERIFY(comparedCells > 100);
        // Once complete, the one change a run makes by itself: the whole slide's range.
        QVERIFY(complete->complete && !complete->scaleFixed);
        QCOMPARE(complete->camLow, complete->camDataLow);
        QCOMPARE(complete->camHigh, complete->camDataHigh);
        AnalysisPanel* panel = window.analysisPanel();
        QVERIFY(panel->colourBar()->title().contains("whole-slide"));
        auto* rescale = panel->findChild<QToolButton*>("rescaleButton");
        QVERIFY(rescale && !rescale->isEnabled());

        // Another method: a new run, a new scale fixed by its first heat. Stopped once patches
        // reach beyond it, the legend says so and Rescale fits what is done, on request.
        seen.clear();
        panel->findChild<QComboBox*>("methodCombo")->setCurrentText("gradcam++");
        QCOMPARE(c->method(), QString("gradcam++"));
        QTRY_VERIFY_WITH_TIMEOUT(
            (!seen.empty() && seen.back()->camDataHigh > seen.back()->camHigh) ||
                c->state() == AnalysisController::State::Complete,
            120000);
        QVERIFY2(c->state() != AnalysisController::State::Complete,
                 "the run ended before any patch reached beyond the first heat's scale");
        c->cancel();
        QTRY_VERIFY_WITH_TIMEOUT(c->state() == AnalysisController::State::Cancelled, 60000);
        QTRY_VERIFY_WITH_TIMEOUT(!c->isBusy(), 60000);
        const auto stopped = c->results();
        QVERIFY(stopped && stopped->scaleFixed && !stopped->complete);
        QVERIFY(panel->colourBar()->title().contains("fixed"));
        QVERIFY(panel->colourBar()->rawRangeText().contains("analysed so far"));
        QVERIFY(rescale->isEnabled());
        const std::size_t before = seen.size();
        rescale->click();
        QTRY_VERIFY_WITH_TIMEOUT(seen.size() > before, 10000);
        const auto& after = *seen.back();
        QCOMPARE(after.camLow, stopped->camDataLow);
        QCOMPARE(after.camHigh, stopped->camDataHigh);
        QVERIFY(after.scaleFixed);
        QVERIFY(!rescale->isEnabled());  // the scale is the data's range now
        float top = 0;
        for (float v : after.cam->values)
            if (!std::isnan(v)) top = std::max(top, v);
        QCOMPARE(top, 1.0f);  // the hottest cell is at the top of the new scale
    }
};

QTEST_MAIN(HeatScaleTest)
#include "heat_scale_test.moc"
