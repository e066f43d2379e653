// The analysis panel's Smoothing row (issue 17), driven through the real main window: ticking
// Flips or Eigen reaches the model session and its QSettings key, and a whole-image analysis of a
// photo then stores a map that differs from the unsmoothed one and equals what
// `lucida-cli explain` makes with the same flag on the same image (its float TIFF read back by
// Pillow), cell by cell.
#include "AnalysisController.h"
#include "AnalysisPanel.h"
#include "MainWindow.h"
#include "ModelSession.h"
#include "SlideView.h"
#include "TileService.h"
#include "analysis/SlideAnalysis.h"
#include "fixtures/Fixtures.h"

#include <QAction>
#include <QCheckBox>
#include <QFile>
#include <QProcess>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <cstring>

using namespace lucida;
using namespace lucida::ui;

namespace {

QString referenceDir() { return QString::fromLocal8Bit(qgetenv("LUCIDA_REFERENCE_DIR")); }

// Largest |a - b| over the cells, and the largest |a|.
std::pair<float, float> difference(const std::vector<float>& a, const std::vector<float>& b) {
    float diff = 0, peak = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        diff = std::max(diff, std::abs(a[i] - b[i]));
        peak = std::max(peak, std::abs(a[i]));
    }
    return {diff, peak};
}

}  // namespace

class SmoothingUiTest : public QObject {
    Q_OBJECT
private:
    std::unique_ptr<QTemporaryDir> tmp_;
    QString imagePath_, modelPath_;
    std::unique_ptr<TileService> tiles_;
    std::unique_ptr<MainWindow> window_;
    SlideView* view_ = nullptr;

    // `lucida-cli explain --class 1 <flags>` of the image: its raw CAM, read by Pillow.
    std::vector<float> explained(const QStringList& flags, const QString& name) {
        const QString out = tmp_->filePath("explain-" + name);
        QProcess cli;
        cli.start(LUCIDA_CLI, QStringList{"explain", "--model", modelPath_, "--class", "1", "--out",
                                          out, imagePath_} +
                                  flags);
        if (!cli.waitForFinished(120000) || cli.exitCode() != 0) {
            qWarning() << cli.readAllStandardError();
            return {};
        }
        const QString raw = out + "/cam.f32";
        QProcess python;
        python.start("/usr/bin/python3",
                     {"-c",
                      "import sys, numpy as np; from PIL import Image; "
                      "np.array(Image.open(sys.argv[1]), dtype=np.float32).tofile(sys.argv[2])",
                      out + "/image.png.cam.tiff", raw});
        QFile file(raw);
        if (!python.waitForFinished(60000) || python.exitCode() != 0 ||
            !file.open(QIODevice::ReadOnly))
            return {};
        const QByteArray bytes = file.readAll();
        std::vector<float> cam(std::size_t(bytes.size()) / sizeof(float));
        std::memcpy(cam.data(), bytes.data(), cam.size() * sizeof(float));
        return cam;
    }

    // Analyse Slide in the window; the stored whole-image map (empty on failure).
    std::vector<float> analysed(bool eigen, bool flips) {
        AnalysisController* c = AnalysisController::of(view_);
        if (!c) return {};
        window_->findChild<QAction*>("analyseSlideAction")->trigger();
        if (!QTest::qWaitFor(
                [&] {
                    const auto a = c->analysis();
                    return c->state() == AnalysisController::State::Complete && a &&
                           a->settings.eigenSmooth == eigen && a->settings.augmentSmooth == flips;
                },
                120000))
            return {};
        const auto a = c->analysis();
        if (!c->results() || !c->results()->summary.wholeImage || a->outcomes.size() != 1 ||
            !a->outcomes[0].done)
            return {};
        return a->outcomes[0].cam;
    }

private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName("LucidaTest");
        QCoreApplication::setApplicationName("smoothing_ui_test");
        QSettings().clear();
        QSettings().setValue("analysis/live", false);
        QSettings().setValue("analysis/resultsBesideImage", true);
        qRegisterMetaType<SlideView*>("SlideView*");
        tmp_ = std::make_unique<QTemporaryDir>();
        QVERIFY(tmp_->isValid());
        // The reference small CNN, binary with one logit, no physical scale: a photo is analysed
        // whole, resized to 128², as `explain` does.
        modelPath_ = tmp_->filePath("cnn.pt");
        QVERIFY(QFile::copy(referenceDir() + "/smallcnn.traced.pt", modelPath_));
        QFile json(tmp_->filePath("cnn.json"));
        QVERIFY(json.open(QIODevice::WriteOnly));
        json.write(R"({"classes": ["normal", "lesion"], "output": "sigmoid",
                       "input_size": [128, 128]})");
        json.close();
        imagePath_ = tmp_->filePath("image.png");
        QVERIFY(QFile::copy(QString::fromStdString(fixtures::path("raster/ihc.png")), imagePath_));
        tiles_ = std::make_unique<TileService>(std::size_t{128} << 20, 2);
        window_ = std::make_unique<MainWindow>(tiles_.get());
        window_->resize(1400, 900);
        window_->show();
        QVERIFY(QTest::qWaitForWindowExposed(window_.get()));
        QSignalSpy modelOpened(window_.get(), &MainWindow::modelOpened);
        window_->openModel(modelPath_);
        QVERIFY(modelOpened.wait(60000));
        QSignalSpy opened(window_.get(), &MainWindow::documentOpened);
        window_->openPath(imagePath_);
        QVERIFY(opened.wait(20000));
        view_ = opened.takeFirst().at(0).value<SlideView*>();
        QVERIFY(view_);
    }

    void cleanupTestCase() {
        window_.reset();
        tiles_.reset();
    }

    void smoothingRowReachesTheSessionAndTheHeat() {
        ModelSession* session = window_->analysisPanel()->session();
        auto* flips = window_->findChild<QCheckBox*>("flipSmoothBox");
        auto* eigen = window_->findChild<QCheckBox*>("eigenSmoothBox");
        QVERIFY(flips && eigen && flips->isVisible());
        QVERIFY(!flips->isChecked() && !eigen->isChecked());

        const std::vector<float> plain = analysed(false, false);
        QVERIFY(!plain.empty());
        const std::vector<float> cliPlain = explained({}, "plain");
        QCOMPARE(cliPlain.size(), plain.size());
        auto [d0, peak] = difference(plain, cliPlain);
        QVERIFY2(peak > 0 && d0 <= 1e-4f * peak,
                 qPrintable(QString("plain: %1 of %2").arg(d0).arg(peak)));

        flips->click();
        QVERIFY(session->flipSmooth());
        QCOMPARE(QSettings().value("analysis/flipSmooth").toBool(), true);
        const std::vector<float> flipped = analysed(false, true);
        QCOMPARE(flipped.size(), plain.size());
        const auto [changed, _] = difference(flipped, plain);
        QVERIFY2(changed > 0.1f * peak, qPrintable(QString("flips changed %1").arg(changed)));
        const std::vector<float> cliFlipped = explained({"--flip-smooth"}, "flips");
        QCOMPARE(cliFlipped.size(), flipped.size());
        const auto [d1, peak1] = difference(cliFlipped, flipped);
        QVERIFY2(d1 <= 1e-4f * peak1, qPrintable(QString("flips: %1 of %2").arg(d1).arg(peak1)));

        flips->click();
        eigen->click();
        QVERIFY(session->eigenSmooth() && !session->flipSmooth());
        QCOMPARE(QSettings().value("analysis/eigenSmooth").toBool(), true);
        QCOMPARE(QSettings().value("analysis/flipSmooth").toBool(), false);
        const std::vector<float> eigenMap = analysed(true, false);
        QCOMPARE(eigenMap.size(), plain.size());
        const std::vector<float> cliEigen = explained({"--eigen-smooth"}, "eigen");
        QCOMPARE(cliEigen.size(), eigenMap.size());
        const auto [d2, peak2] = difference(cliEigen, eigenMap);
        QVERIFY2(d2 <= 1e-4f * peak2, qPrintable(QString("eigen: %1 of %2").arg(d2).arg(peak2)));
    }
};

QTEST_MAIN(SmoothingUiTest)
#include "smoothing_ui_test.moc"
