// Analysis ▸ Check This Map… from the real window on the demo model and a demo tumour patch: the
// dialog's chart series equal, point for point, what core/checks/MapCheck computes for the same
// image and settings (the code `lucida-cli check` writes its files with), the verdicts say what
// the numbers say, the export is those numbers, and Cancel (and closing) stop a long run at once.
#include "MainWindow.h"
#include "MapCheckCharts.h"
#include "MapCheckDialog.h"
#include "SlideView.h"
#include "TileService.h"
#include "checks/MapCheck.h"
#include "demo/DemoData.h"
#include "engine/ModelEngine.h"
#include "model/Model.h"
#include "model/Preprocess.h"

#include <QAction>
#include <QComboBox>
#include <QElapsedTimer>
#include <QImage>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineSeries>
#include <QPointer>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

using namespace lucida;
using namespace lucida::ui;

namespace {

const char* kDemoModel = LUCIDA_SOURCE_DIR "/resources/demo/model/demo-smallcnn.pth";

bool close(double a, double b) { return std::abs(a - b) <= 1e-6; }

}  // namespace

class MapCheckTest : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    QString patchPath_;
    std::unique_ptr<TileService> tiles_;
    std::unique_ptr<MainWindow> window_;

    MapCheckDialog* openDialog() {
        QAction* action = window_->findChild<QAction*>("checkMapAction");
        if (!action) return nullptr;
        action->trigger();
        return window_->findChild<MapCheckDialog*>("mapCheckDialog");
    }

    static void choose(MapCheckDialog* d, const char* method, const char* cls, const char* removal,
                       int steps, int stages) {
        d->findChild<QComboBox*>("mapCheckTarget")->setCurrentIndex(0);  // the whole image
        d->findChild<QComboBox*>("mapCheckMethod")->setCurrentText(method);
        d->findChild<QComboBox*>("mapCheckClass")->setCurrentText(cls);
        auto* removalBox = d->findChild<QComboBox*>("mapCheckRemoval");
        removalBox->setCurrentIndex(removalBox->findData(removal));
        d->findChild<QSpinBox*>("mapCheckSteps")->setValue(steps);
        d->findChild<QSpinBox*>("mapCheckStages")->setValue(stages);
    }

private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName("LucidaTest");
        QCoreApplication::setApplicationName("map_check_test");
        QSettings().clear();
        QSettings().setValue("analysis/live", false);
        QVERIFY(tmp_.isValid());
        // A demo test patch with a lesion, as make-demo writes it.
        const demo::DemoPatch patch = demo::renderDemoPatch(demo::kDefaultSeed, 2, true, 3, 128);
        QImage image(patch.rgb.data(), 128, 128, 3 * 128, QImage::Format_RGB888);
        patchPath_ = tmp_.filePath("tumour.png");
        QVERIFY(image.save(patchPath_));
        tiles_ = std::make_unique<TileService>(std::size_t{64} << 20, 2);
        window_ = std::make_unique<MainWindow>(tiles_.get());
        window_->resize(1200, 800);
        window_->show();
        QVERIFY(QTest::qWaitForWindowExposed(window_.get()));
        QSignalSpy opened(window_.get(), &MainWindow::documentOpened);
        window_->openPath(patchPath_);
        QVERIFY(opened.wait(20000));
        QSignalSpy model(window_.get(), &MainWindow::modelOpened);
        window_->openModel(kDemoModel);
        QVERIFY(model.wait(60000));
    }

    void cleanupTestCase() {
        window_.reset();
        tiles_.reset();
    }

    // The series are the numbers runMapCheck gives for the image as lucida-cli check reads it.
    void seriesEqualTheCheck() {
        MapCheckDialog* d = openDialog();
        QVERIFY(d);
        choose(d, "gradcam", "tumour", "mean", 8, 2);
        d->findChild<QPushButton*>("mapCheckRun")->click();
        QVERIFY(d->isRunning());
        QTRY_VERIFY_WITH_TIMEOUT(d->result() != nullptr, 60000);

        const auto model = modelEngine().openModel(kDemoModel);
        const auto source = openImage(patchPath_.toStdString());
        const FloatTensor input = preprocess(readWholeImage(*source, 128, 128), model->spec());
        MapCheckOptions o;
        o.method = "gradcam";
        o.classIndex = 1;
        o.stages = 2;
        o.faithfulness.removal = Removal::Mean;
        o.faithfulness.steps = 8;
        const MapCheckResult expected = runMapCheck(*model, input, o);

        const auto& stages = expected.randomisation.stages;
        QCOMPARE(stages.size(), std::size_t{2});
        QCOMPARE(d->randomisationChart()->stageLabels(), (QStringList{"original", "fc", "block4"}));
        const auto spearman = d->randomisationChart()->spearman()->points();
        const auto ssim = d->randomisationChart()->ssim()->points();
        QCOMPARE(spearman.size(), 3);
        QCOMPARE(spearman[0], QPointF(0, 1));
        for (std::size_t i = 0; i < stages.size(); ++i) {
            const int k = int(i) + 1;
            QVERIFY2(close(spearman[k].y(), stages[i].spearman) && spearman[k].x() == k,
                     qPrintable(QString("stage %1: %2 vs %3")
                                    .arg(k)
                                    .arg(spearman[k].y())
                                    .arg(stages[i].spearman)));
            QVERIFY(close(ssim[k].y(), stages[i].ssim));
        }
        const Curve* curves[] = {&expected.faithfulness.deletion, &expected.faithfulness.insertion,
                                 &expected.faithfulness.randomDeletion,
                                 &expected.faithfulness.randomInsertion};
        for (int c = 0; c < 4; ++c) {
            const auto points = d->faithfulnessChart()->series(c)->points();
            QCOMPARE(points.size(), 9);
            for (int i = 0; i < 9; ++i) {
                QCOMPARE(points[i].x(), curves[c]->share[std::size_t(i)]);
                QVERIFY(close(points[i].y(), curves[c]->probability[std::size_t(i)]));
            }
        }
        // The demo model's Grad-CAM depends on its weights: Spearman under 0.3 by block4.
        QVERIFY(std::abs(stages[1].spearman) < 0.3);
        const QString verdict = d->findChild<QLabel*>("mapCheckVerdict")->text();
        QCOMPARE(verdict, QString::fromStdString(expected.randomisation.verdict));
        QVERIFY2(verdict.startsWith("The map depends on the learned weights"), qPrintable(verdict));
        const auto& f = expected.faithfulness;
        const QString faithful = d->findChild<QLabel*>("mapCheckFaithfulnessVerdict")->text();
        const bool deletes =
            f.deletion.auc<f.randomDeletion.auc - 0.02, inserts = f.insertion.auc> f.randomInsertion
                .auc +
            0.02;
        QCOMPARE(faithful.startsWith("The map is faithful"), deletes && inserts);
        QCOMPARE(faithful.startsWith("The map's order does no better"), !deletes && !inserts);
        for (const Curve* c : curves)  // every AUC, as the legend does not hold them
            QVERIFY(faithful.contains(QString::number(c->auc, 'f', 3)));

        // Export: the JSON holds the plotted numbers.
        QCOMPARE(d->exportTo(tmp_.filePath("out.check.json")), QString());
        QFile json(tmp_.filePath("out.check.json"));
        QVERIFY(json.open(QIODevice::ReadOnly));
        const QJsonObject j = QJsonDocument::fromJson(json.readAll()).object();
        QCOMPARE(j["explained_class"].toString(), QString("tumour"));
        QCOMPARE(j["image"].toString(), patchPath_);
        const QJsonArray exported = j["randomisation"].toObject()["stages"].toArray();
        QCOMPARE(exported.size(), 2);
        QVERIFY(close(exported[1].toObject()["spearman"].toDouble(), spearman[2].y()));
        const QJsonArray deletion =
            j["faithfulness"].toObject()["deletion"].toObject()["probability"].toArray();
        QCOMPARE(deletion.size(), 9);
        QVERIFY(close(deletion[4].toDouble(), d->faithfulnessChart()->series(0)->points()[4].y()));
        QVERIFY(QFile::exists(tmp_.filePath("out.randomisation.csv")));
        QVERIFY(QFile::exists(tmp_.filePath("out.faithfulness.csv")));
        if (const QString dir = qEnvironmentVariable("LUCIDA_SCREENSHOT_DIR"); !dir.isEmpty())
            d->grab().save(dir + "/screenshot-map-check.png");
        d->close();
    }

    // Cancel stops a long run within a forward batch or one explanation, leaving nothing plotted;
    // closing the dialog mid-run ends the worker and deletes the dialog.
    void cancelStopsTheRun() {
        MapCheckDialog* d = openDialog();
        QVERIFY(d);
        choose(d, "gradcam", "tumour", "blur", 1000, 0);  // 4004 forwards: far longer than 5 s
        d->findChild<QPushButton*>("mapCheckRun")->click();
        QTest::qWait(300);
        QVERIFY(d->isRunning());
        QElapsedTimer t;
        t.start();
        d->findChild<QPushButton*>("mapCheckCancel")->click();
        QTRY_VERIFY_WITH_TIMEOUT(!d->isRunning(), 10000);
        QVERIFY2(t.elapsed() < 5000, qPrintable(QString::number(t.elapsed())));
        QCOMPARE(d->findChild<QLabel*>("mapCheckStatus")->text(), QString("Cancelled."));
        QVERIFY(d->result() == nullptr);
        QCOMPARE(d->faithfulnessChart()->series(0)->count(), 0);
        QVERIFY(d->findChild<QPushButton*>("mapCheckRun")->isEnabled());

        d->findChild<QPushButton*>("mapCheckRun")->click();
        QTest::qWait(300);
        QVERIFY(d->isRunning());
        QPointer<MapCheckDialog> gone(d);
        d->close();
        QTRY_VERIFY_WITH_TIMEOUT(gone.isNull(), 10000);
    }
};

QTEST_MAIN(MapCheckTest)
#include "map_check_test.moc"
