// One model session: the window's ModelSession is the single owner of the model and the analysis
// settings. Changing a setting there (or in the panel, which edits the session) reaches every
// image's controller and the panel at once; the settings and recent models persist in QSettings
// under the keys of AnalysisSettingKeys.h, and a new session reads them back.
#include "AnalysisController.h"
#include "AnalysisPanel.h"
#include "AnalysisSettingKeys.h"
#include "HeatmapOverlay.h"
#include "MainWindow.h"
#include "ModelSession.h"
#include "RecentFiles.h"
#include "SlideView.h"
#include "TileService.h"
#include "fixtures/Fixtures.h"

#include <QAction>
#include <QCheckBox>
#include <QComboBox>
#include <QSettings>
#include <QSignalSpy>
#include <QSlider>
#include <QStandardPaths>
#include <QtConcurrent>
#include <QtTest>

#include <memory>

using namespace lucida;
using namespace lucida::ui;
namespace keys = lucida::ui::analysis_keys;

namespace {
QString fixture(const char* relative) { return QString::fromStdString(fixtures::path(relative)); }

// A loader for sessions that never open a model here.
QFuture<ModelLoad> noModel(const QString& path) {
    return QtConcurrent::run([path] {
        return ModelLoad{path, nullptr, QStringLiteral("no model")};
    });
}
}  // namespace

class ModelSessionTest : public QObject {
    Q_OBJECT

private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName("LucidaTest");
        QCoreApplication::setApplicationName("model_session_test");
        QSettings().clear();
        QSettings().setValue(keys::kLive, false);  // no model: nothing would run anyway
        qRegisterMetaType<SlideView*>("SlideView*");
    }

    void sessionDrivesEveryControllerAndThePanel() {
        TileService tiles(std::size_t{128} << 20, 2);
        MainWindow window(&tiles);
        window.resize(1000, 700);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QSignalSpy opened(&window, &MainWindow::documentOpened);
        window.openPath(fixture("slides/generic.tif"));
        QVERIFY(opened.wait(20000));
        window.openPath(fixture("slides/generic.tif"));
        QVERIFY(opened.count() == 2 || opened.wait(20000));
        QCOMPARE(window.documentCount(), 2);
        auto* first = qvariant_cast<SlideView*>(opened.at(0).at(0));
        auto* second = qvariant_cast<SlideView*>(opened.at(1).at(0));
        AnalysisController* a = window.analysisController(first);
        AnalysisController* b = window.analysisController(second);
        QVERIFY(a && b && a != b);
        AnalysisPanel* panel = window.analysisPanel();
        ModelSession* session = panel->session();
        QVERIFY(session);
        QCOMPARE(a->session(), session);
        QCOMPARE(b->session(), session);
        // No one else holds a model: the controllers' is the session's.
        QVERIFY(!session->model() && !a->model() && !b->model() && !window.hasModel());

        // Display settings: every overlay and the panel, persisted.
        session->setOpacity(0.35);
        for (AnalysisController* c : {a, b}) QCOMPARE(c->overlay()->opacity(), 0.35);
        QCOMPARE(panel->opacitySlider()->value(), 35);
        QCOMPARE(QSettings().value(keys::kOpacity).toDouble(), 0.35);
        session->setThreshold(0.4);
        for (AnalysisController* c : {a, b}) QCOMPARE(c->overlay()->threshold(), 0.4);
        QCOMPARE(panel->thresholdSlider()->value(), 40);
        QCOMPARE(QSettings().value(keys::kThreshold).toDouble(), 0.4);

        // What is analysed: every controller and the panel, persisted.
        session->setMethod("xgradcam");
        for (AnalysisController* c : {a, b}) QCOMPARE(c->method(), QString("xgradcam"));
        QCOMPARE(panel->methodCombo()->currentText(), QString("xgradcam"));
        QCOMPARE(QSettings().value(keys::kMethod).toString(), QString("xgradcam"));
        session->setFit(ImageFit::Patches);
        for (AnalysisController* c : {a, b}) QCOMPARE(c->fit(), ImageFit::Patches);
        QCOMPARE(panel->fitCombo()->currentData().toInt(), int(ImageFit::Patches));
        session->setOverlap(0.25);
        for (AnalysisController* c : {a, b}) QCOMPARE(c->overlap(), 0.25);
        QCOMPARE(panel->overlapCombo()->currentData().toDouble(), 0.25);
        QCOMPARE(QSettings().value(keys::kOverlap).toDouble(), 0.25);
        session->setClassIndex(0);
        for (AnalysisController* c : {a, b}) QCOMPARE(c->classIndex(), 0);

        // The panel edits the session (one route): both controllers follow.
        panel->colourMapCombo()->setCurrentText("viridis");
        QCOMPARE(session->colourMap(), ColourMap::Viridis);
        for (AnalysisController* c : {a, b})
            QCOMPARE(c->overlay()->colourMap(), ColourMap::Viridis);
        QCOMPARE(QSettings().value(keys::kColourMap).toString(), QString("viridis"));
        panel->normalisationCombo()->setCurrentIndex(1);
        QCOMPARE(session->normalisation(), CamNormalisation::Patch);
        for (AnalysisController* c : {a, b}) QCOMPARE(c->normalisation(), CamNormalisation::Patch);
        QCOMPARE(QSettings().value(keys::kNormalisation).toInt(), 1);
        panel->layerCombo()->setCurrentIndex(1);
        QCOMPARE(session->layer(), ShownHeat::Probability);
        QCOMPARE(QSettings().value(keys::kLayer).toInt(), 1);
        panel->methodCombo()->setCurrentText("gradcam++");
        QCOMPARE(session->method(), QString("gradcam++"));
        for (AnalysisController* c : {a, b}) QCOMPARE(c->method(), QString("gradcam++"));
        // Smoothing: the panel's boxes and the session agree, and the choice persists.
        auto* eigenBox = panel->findChild<QCheckBox*>("eigenSmoothBox");
        auto* flipBox = panel->findChild<QCheckBox*>("flipSmoothBox");
        QVERIFY(eigenBox && flipBox && !eigenBox->isChecked() && !flipBox->isChecked());
        eigenBox->setChecked(true);
        QVERIFY(session->eigenSmooth());
        QCOMPARE(QSettings().value(keys::kEigenSmooth).toBool(), true);
        session->setFlipSmooth(true);
        QVERIFY(flipBox->isChecked());
        QCOMPARE(QSettings().value(keys::kFlipSmooth).toBool(), true);

        // Live: the menu action and every controller follow the session.
        auto* live = window.findChild<QAction*>("liveHeatmapAction");
        QVERIFY(live && !live->isChecked());
        session->setLive(true);
        QVERIFY(live->isChecked());
        for (AnalysisController* c : {a, b}) QVERIFY(c->isLive());
        QCOMPARE(QSettings().value(keys::kLive).toBool(), true);
        live->trigger();
        QVERIFY(!session->isLive());
        for (AnalysisController* c : {a, b}) QVERIFY(!c->isLive());
        QCOMPARE(QSettings().value(keys::kLive).toBool(), false);

        // Recent models are a RecentFiles under the session's key; the panel lists them.
        session->recentModels()->add("/models/a.pt");
        session->recentModels()->add("/models/b.pt");
        QCOMPARE(QSettings().value(keys::kRecentModels).toStringList(),
                 QStringList({"/models/b.pt", "/models/a.pt"}));
        QCOMPARE(panel->modelCombo()->count(), 2);
        QCOMPARE(panel->modelCombo()->itemData(0).toString(), QString("/models/b.pt"));
    }

    // A new session (the next start) reads back what the last one left.
    void settingsPersistUnderTheKeys() {
        ModelSession session(&noModel);
        QCOMPARE(session.method(), QString("gradcam++"));
        QVERIFY(session.eigenSmooth() && session.flipSmooth());
        QCOMPARE(session.fit(), ImageFit::Patches);
        QCOMPARE(session.overlap(), 0.25);
        QCOMPARE(session.layer(), ShownHeat::Probability);
        QCOMPARE(session.normalisation(), CamNormalisation::Patch);
        QCOMPARE(session.colourMap(), ColourMap::Viridis);
        QCOMPARE(session.opacity(), 0.35);
        QCOMPARE(session.threshold(), 0.4);
        QVERIFY(!session.isLive());
        QCOMPARE(session.recentModels()->files().value(0), QString("/models/b.pt"));
    }

    // Opening: a remembered model that is gone fails at once; a failed load leaves no model and
    // says why; a later open wins over one still loading.
    void openingReportsAndTheLatestWins() {
        ModelSession session(&noModel);
        QSignalSpy failed(&session, &ModelSession::modelFailed);
        session.open("/no/such/model.pt", /*reportErrors=*/false);
        QCOMPARE(failed.count(), 1);
        QCOMPARE(session.error(), QString("no such file"));
        QVERIFY(!session.isLoading() && !session.model());

        const QString file = fixture("slides/generic.tif");  // exists; the loader says no
        session.open(file);
        session.open(file);
        QVERIFY(session.isLoading());
        QVERIFY(failed.wait(10000));
        QTest::qWait(50);
        QCOMPARE(failed.count(), 2);  // the first open's answer was dropped
        QCOMPARE(failed.last().at(1).toString(), QString("no model"));
        QVERIFY(!session.isLoading() && !session.model());
        QCOMPARE(session.path(), file);
    }
};

QTEST_MAIN(ModelSessionTest)
#include "model_session_test.moc"
