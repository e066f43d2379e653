// Dense mode is the default wherever it applies (issue 16), in the viewer and in `lucida-cli
// analyse` alike, so the two share results by default: `analyse` with its defaults stores dense
// results for the demo slide, and a new user's window (no settings) opening the slide with the
// same model shows them without running the model. Where dense mode does not apply (Grad-CAM++)
// the viewer's run uses patches, its progress line says why, and the results are patch mode's
// (those `analyse --mode patch` stored are reused). A stored choice of "Per patch, as trained"
// is kept.
#include "AnalysisController.h"
#include "AnalysisPanel.h"
#include "AnalysisSettingKeys.h"
#include "CliViewerRuns.h"
#include "MainWindow.h"
#include "ModelSession.h"
#include "SlideView.h"
#include "TileService.h"
#include "ViewWaits.h"

#include <QComboBox>
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

class DefaultModeTest : public QObject {
    Q_OBJECT
    std::unique_ptr<QTemporaryDir> tmp_;
    std::unique_ptr<TileService> tiles_;
    QString slide_;

private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName("LucidaTest");
        QCoreApplication::setApplicationName("default_mode_test");
        QSettings().clear();  // a new user: no mode chosen
        QSettings().setValue(analysis_keys::kLive, false);
        QSettings().setValue(analysis_keys::kResultsBesideImage, true);  // "<slide>.lucida"
        qRegisterMetaType<SlideView*>("SlideView*");
        tmp_ = std::make_unique<QTemporaryDir>();
        QVERIFY(tmp_->isValid());
        tiles_ = std::make_unique<TileService>(std::size_t{128} << 20, 2);
        slide_ = writeDemoSlide2048(*tmp_);
    }

    void viewerFindsWhatAnalyseStoredByDefault() {
        QString log;
        QVERIFY2(analyse(slide_, tmp_->filePath("cli"), {}, &log), qPrintable(log));
        QVERIFY2(!log.contains("dense mode does not apply"), qPrintable(log));
        const QJsonObject cli = readJson(tmp_->filePath("cli/demo.tiff.analysis.json"));
        const int patches = cli.value("analysed_patches").toInt();
        QVERIFY2(patches > 20, qPrintable(QString::number(patches)));
        const QJsonObject stored =
            readJson(cli.value("results").toString() + QStringLiteral("/settings.json"));
        QCOMPARE(stored.value("mode").toString(), QString("dense"));  // the CLI's default

        MainWindow window(tiles_.get());
        window.resize(1000, 700);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        ModelSession* session = window.analysisPanel()->session();
        QCOMPARE(session->mode(), AnalysisMode::Dense);  // the viewer's default
        QVERIFY(openDemoModel(window));
        SlideView* view = openSlide(window, slide_);
        QVERIFY(view && viewtest::waitLoaded(view));
        AnalysisController* c = AnalysisController::of(view);
        QVERIFY(c);
        QTest::mouseClick(window.analysisPanel()->analyseButton(), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(c->state() == AnalysisController::State::Complete, 120000);
        // Every patch from the CLI's store: the same key, nothing run again.
        QCOMPARE(c->progress().total, std::size_t(patches));
        QCOMPARE(c->progress().reused, std::size_t(patches));
        QCOMPARE(c->progress().inferred, std::size_t(0));
        QVERIFY2(c->progress().note.isEmpty(), qPrintable(c->progress().note));
    }

    // Grad-CAM++ needs per-patch gradients: the default mode falls back to patches, says so on
    // the progress line, and keys its results as patch mode's, so `analyse --mode patch`'s
    // stored results are reused (and the mode chosen stays dense for the methods that allow it).
    void fallbackIsShownAndStoredAsPatchMode() {
        QString log;
        QVERIFY2(analyse(slide_, tmp_->filePath("cli-patch"),
                         {"--mode", "patch", "--method", "gradcam++"}, &log),
                 qPrintable(log));
        const QJsonObject cli = readJson(tmp_->filePath("cli-patch/demo.tiff.analysis.json"));
        const int patches = cli.value("analysed_patches").toInt();
        QVERIFY(patches > 20);

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
        panel->methodCombo()->setCurrentText("gradcam++");
        QCOMPARE(c->method(), QString("gradcam++"));
        QTest::mouseClick(panel->analyseButton(), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(c->state() == AnalysisController::State::Complete, 120000);
        QCOMPARE(c->progress().reused, std::size_t(patches));
        QCOMPARE(c->progress().inferred, std::size_t(0));
        const QString note = c->progress().note;
        QVERIFY2(note.contains("dense mode does not apply") && note.contains("patches as trained"),
                 qPrintable(note));
        QVERIFY2(panel->progressLabel()->text().contains("dense mode does not apply"),
                 qPrintable(panel->progressLabel()->text()));
        QCOMPARE(panel->session()->mode(), AnalysisMode::Dense);
    }

    // A user who chose "Per patch, as trained" keeps it; without a choice the default is dense.
    void aStoredChoiceOfPatchModeIsKept() {
        QSettings().setValue(analysis_keys::kMode, "patch");
        {
            MainWindow window(tiles_.get());
            QCOMPARE(window.analysisPanel()->session()->mode(), AnalysisMode::Patch);
            auto* combo = window.analysisPanel()->findChild<QComboBox*>("modeCombo");
            QVERIFY(combo);
            QCOMPARE(combo->currentText(), QString("Per patch, as trained"));
        }
        QSettings().remove(analysis_keys::kMode);
        MainWindow window(tiles_.get());
        QCOMPARE(window.analysisPanel()->session()->mode(), AnalysisMode::Dense);
    }
};

QTEST_MAIN(DefaultModeTest)
#include "default_mode_test.moc"
