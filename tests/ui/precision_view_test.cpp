// The viewer's Precision (issue 16): int8, chosen in the Analysis panel, is kept in settings and
// reaches every run. A view analysed in int8 uses the results key `lucida-cli analyse --mode
// dense --precision int8` stores (the CLI's results are shown, nothing run again); fp32 never
// reuses int8's results (nor the other way round); per patch, int8 does not apply: the run is
// fp32 and its progress line says why. The Project dock's queue gets the choice too.
#include "AnalysisController.h"
#include "AnalysisPanel.h"
#include "AnalysisSettingKeys.h"
#include "CliViewerRuns.h"
#include "MainWindow.h"
#include "ModelSession.h"
#include "QueueSettings.h"
#include "SlideView.h"
#include "TileService.h"
#include "ViewWaits.h"

#include <QComboBox>
#include <QFileInfo>
#include <QJsonObject>
#include <QLabel>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

using namespace lucida;
using namespace lucida::ui;
using namespace lucida::test;

namespace {

QFuture<ModelLoad> noModel(const QString& path) {
    return QtFuture::makeReadyFuture(ModelLoad{path, nullptr, QStringLiteral("no model")});
}

}  // namespace

class PrecisionViewTest : public QObject {
    Q_OBJECT
    std::unique_ptr<QTemporaryDir> tmp_;
    std::unique_ptr<TileService> tiles_;
    QString slide_;

    static void choose(QComboBox* combo, bool int8) {
        combo->setCurrentIndex(combo->findData(int8));
        QCOMPARE(combo->currentData().toBool(), int8);
    }

private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName("LucidaTest");
        QCoreApplication::setApplicationName("precision_view_test");
        QSettings().clear();  // a new user: fp32, dense
        QSettings().setValue(analysis_keys::kLive, false);
        QSettings().setValue(analysis_keys::kResultsBesideImage, true);  // "<slide>.lucida"
        qRegisterMetaType<SlideView*>("SlideView*");
        tmp_ = std::make_unique<QTemporaryDir>();
        QVERIFY(tmp_->isValid());
        tiles_ = std::make_unique<TileService>(std::size_t{128} << 20, 2);
        slide_ = writeDemoSlide2048(*tmp_);
    }

    // fp32 by default; int8 chosen in the panel is the session's, in QSettings, read back by the
    // next session and panel, and the Project dock's queue analyses (and signs) with it.
    void int8IsChosenAndKept() {
        {
            MainWindow window(tiles_.get());
            AnalysisPanel* panel = window.analysisPanel();
            QComboBox* combo = panel->findChild<QComboBox*>("precisionCombo");
            QVERIFY(combo);
            QCOMPARE(combo, panel->precisionCombo());
            QCOMPARE(combo->currentText(), QString("fp32 (exact)"));
            QVERIFY(!panel->session()->int8());
            QVERIFY(combo->isEnabled());
            const QString fp32Signature = queueSettingsOf(*panel->session()).signature;
            QVERIFY(!queueSettingsOf(*panel->session()).settings.int8);

            QSignalSpy changed(panel->session(), &ModelSession::analysisChanged);
            choose(combo, true);
            QVERIFY(panel->session()->int8());
            QCOMPARE(changed.count(), 1);
            QCOMPARE(QSettings().value(analysis_keys::kPrecision).toString(), QString("int8"));
            const QueueSettings queue = queueSettingsOf(*panel->session());
            QVERIFY(queue.settings.int8);
            QCOMPARE(queue.signature, fp32Signature + "|int8");  // the queue re-checks its items

            // Per patch int8 does not apply: greyed, the choice kept.
            panel->modeCombo()->setCurrentIndex(
                panel->modeCombo()->findData(int(AnalysisMode::Patch)));
            QVERIFY(!combo->isEnabled());
            QVERIFY(panel->session()->int8());
            panel->modeCombo()->setCurrentIndex(
                panel->modeCombo()->findData(int(AnalysisMode::Dense)));
            QVERIFY(combo->isEnabled());
        }
        QVERIFY(ModelSession(&noModel).int8());  // the next start
        MainWindow window(tiles_.get());
        QVERIFY(window.analysisPanel()->session()->int8());
        QCOMPARE(window.analysisPanel()->precisionCombo()->currentData().toBool(), true);
        QVERIFY(window.analysisPanel()->precisionCombo()->currentText().startsWith("int8"));
    }

    // The viewer in int8 finds what `analyse --mode dense --precision int8` stored (same key, 0
    // patches run); switching to fp32 runs every patch again under another key.
    void int8FindsTheCliResultsAndFp32KeepsApart() {
        QString log;
        QVERIFY2(analyse(slide_, tmp_->filePath("cli-int8"),
                         {"--mode", "dense", "--precision", "int8"}, &log),
                 qPrintable(log));
        QVERIFY2(!log.contains("does not apply"), qPrintable(log));
        const QJsonObject cli = readJson(tmp_->filePath("cli-int8/demo.tiff.analysis.json"));
        const int patches = cli.value("analysed_patches").toInt();
        QVERIFY2(patches > 20, qPrintable(QString::number(patches)));
        const QString cliResults = cli.value("results").toString();
        const QJsonObject stored = readJson(cliResults + QStringLiteral("/settings.json"));
        QCOMPARE(stored.value("precision").toString(), QString("int8"));
        QCOMPARE(stored.value("mode").toString(), QString("dense"));

        QSettings().setValue(analysis_keys::kPrecision, "int8");
        MainWindow window(tiles_.get());
        window.resize(1000, 700);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        AnalysisPanel* panel = window.analysisPanel();
        QVERIFY(panel->session()->int8());
        QVERIFY(openDemoModel(window));
        SlideView* view = openSlide(window, slide_);
        QVERIFY(view && viewtest::waitLoaded(view));
        AnalysisController* c = AnalysisController::of(view);
        QVERIFY(c);
        QVERIFY(c->int8());
        QVERIFY(c->analysisSettings().int8);
        QTest::mouseClick(panel->analyseButton(), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(c->state() == AnalysisController::State::Complete, 120000);
        QCOMPARE(c->progress().total, std::size_t(patches));
        QCOMPARE(c->progress().reused, std::size_t(patches));
        QCOMPARE(c->progress().inferred, std::size_t(0));
        QVERIFY2(c->progress().note.isEmpty(), qPrintable(c->progress().note));
        QVERIFY(c->analysis());
        QVERIFY(c->analysis()->settings.int8);
        const QString int8Key = QString::fromStdString(c->analysis()->key);
        QCOMPARE(int8Key, QFileInfo(cliResults).fileName());

        // fp32: a restart under fp32's own key, every patch run (none of int8's reused).
        choose(panel->precisionCombo(), false);
        QVERIFY(!c->int8());
        QCOMPARE(QSettings().value(analysis_keys::kPrecision).toString(), QString("fp32"));
        if (c->state() != AnalysisController::State::Running)
            QTest::mouseClick(panel->analyseButton(), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(c->state() == AnalysisController::State::Complete &&
                                     c->analysis() && !c->analysis()->settings.int8,
                                 120000);
        QCOMPARE(c->progress().total, std::size_t(patches));
        QCOMPARE(c->progress().reused, std::size_t(0));
        QCOMPARE(c->progress().inferred, std::size_t(patches));
        const QString fp32Key = QString::fromStdString(c->analysis()->key);
        QVERIFY(fp32Key != int8Key);
        QCOMPARE(readJson(QString::fromStdString(c->analysis()->resultsDir) + "/settings.json")
                     .value("precision")
                     .toString(),
                 QString("fp32"));
        // The int8 store is as the CLI left it.
        QCOMPARE(
            readJson(cliResults + QStringLiteral("/settings.json")).value("precision").toString(),
            QString("int8"));

        // Back to int8: the CLI's results again, nothing run.
        choose(panel->precisionCombo(), true);
        if (c->state() != AnalysisController::State::Running)
            QTest::mouseClick(panel->analyseButton(), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(c->state() == AnalysisController::State::Complete &&
                                     c->analysis() && c->analysis()->settings.int8,
                                 120000);
        QCOMPARE(QString::fromStdString(c->analysis()->key), int8Key);
        QCOMPARE(c->progress().inferred, std::size_t(0));
    }

    // Per patch, int8 does not apply: the run is fp32 (patch mode's key), the progress line says
    // why, and the choice of int8 stays for dense runs.
    void perPatchFallsBackToFp32AndSaysSo() {
        QSettings().setValue(analysis_keys::kPrecision, "int8");
        QSettings().setValue(analysis_keys::kMode, "patch");
        MainWindow window(tiles_.get());
        window.resize(1000, 700);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        AnalysisPanel* panel = window.analysisPanel();
        QVERIFY(openDemoModel(window));
        SlideView* view = openSlide(window, slide_);
        QVERIFY(view && viewtest::waitLoaded(view));
        AnalysisController* c = AnalysisController::of(view);
        QVERIFY(c);
        QVERIFY(c->int8() && c->mode() == AnalysisMode::Patch);
        QTest::mouseClick(panel->analyseButton(), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(c->state() == AnalysisController::State::Complete, 120000);
        const QString note = c->progress().note;
        QVERIFY2(note.contains("int8 does not apply") && note.contains("fp32"), qPrintable(note));
        QVERIFY2(panel->progressLabel()->text().contains("int8 does not apply"),
                 qPrintable(panel->progressLabel()->text()));
        QVERIFY(c->analysis() && !c->analysis()->settings.int8);
        QCOMPARE(c->analysis()->settings.mode, AnalysisMode::Patch);
        QVERIFY(panel->session()->int8());
        QSettings().remove(analysis_keys::kMode);
    }
};

QTEST_MAIN(PrecisionViewTest)
#include "precision_view_test.moc"
