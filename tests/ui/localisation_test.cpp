// Analysis ▸ Localisation… from the real window on a demo slide whose lesions are annotated (their
// bounding boxes): the dialog's Grad-CAM pointing game and energy pointing per region equal a
// computation made here from the region's heat (computeRegionCams into a fresh results folder,
// the window, cells, peak and energy worked out in this file), a rectangle deliberately placed
// beside a lesion (on background) scores a miss, two ticked methods give two rows, and the CSV
// says what the table says; Cancel stops a run.
#include "AnalysisController.h"
#include "AnalysisPanel.h"
#include "AnalysisSettingKeys.h"
#include "AnnotationDocument.h"
#include "LocalisationDialog.h"
#include "MainWindow.h"
#include "RegionCams.h"
#include "SlideView.h"
#include "TileService.h"
#include "ViewAnnotations.h"
#include "demo/DemoData.h"
#include "engine/ModelEngine.h"
#include "image/ImageSource.h"
#include "model/Model.h"

#include <QAction>
#include <QComboBox>
#include <QElapsedTimer>
#include <QFile>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>

using namespace lucida;
using namespace lucida::ui;

namespace {

const char* kDemoModel = LUCIDA_SOURCE_DIR "/resources/demo/model/demo-smallcnn.pth";

struct Box {
    double x0, y0, x1, y1;
};

Annotation rectangle(const Box& r, const std::string& className) {
    Annotation a;
    a.className = className;
    a.tool = "rectangle";
    a.geometry.type = Geometry::Type::Polygon;
    a.geometry.polygons.push_back({{{r.x0, r.y0}, {r.x1, r.y0}, {r.x1, r.y1}, {r.x0, r.y1}}, {}});
    return a;
}

struct Expected {
    bool hit = false;
    double energy = 0;
};

// The pointing game worked out here: the window is the rectangle with half its larger side
// around it (clipped to the image); the map the raw CAM of the cells centred in it.
Expected expectedScore(const RegionCam& cam, const Box& r, double width, double height) {
    const double margin = 0.5 * std::max(r.x1 - r.x0, r.y1 - r.y0);
    const double wx0 = std::max(0.0, r.x0 - margin), wy0 = std::max(0.0, r.y0 - margin);
    const double wx1 = std::min(width, r.x1 + margin), wy1 = std::min(height, r.y1 + margin);
    const FloatRaster& raster = cam.raster;
    const double c = raster.cellSize;
    double best = -1, inside = 0, total = 0;
    bool bestInside = false;
    for (int y = 0; y < raster.height; ++y)
        for (int x = 0; x < raster.width; ++x) {
            const double cx = (x + 0.5) * c, cy = (y + 0.5) * c;
            if (cx < wx0 || cx >= wx1 || cy < wy0 || cy >= wy1) continue;
            const float v = raster.at(x, y);
            const float raw =
                std::isfinite(v) ? float(cam.rawLow + v * (double(cam.rawHigh) - cam.rawLow)) : 0.f;
            const bool in = cx > r.x0 && cx < r.x1 && cy > r.y0 && cy < r.y1;
            if (raw > best) best = raw, bestInside = in;
            total += std::max(0.f, raw);
            if (in) inside += std::max(0.f, raw);
        }
    return {best > 0 && bestInside, total > 0 ? inside / total : 0};
}

}  // namespace

class LocalisationTest : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    std::unique_ptr<TileService> tiles_;
    std::unique_ptr<MainWindow> window_;
    SlideView* view_ = nullptr;
    QString slide_;
    std::vector<Box> lesions_;
    Box wrong_{};

    LocalisationDialog* openDialog() {
        QAction* action = window_->findChild<QAction*>("localisationAction");
        if (!action) return nullptr;
        action->trigger();
        return window_->findChild<LocalisationDialog*>("localisationDialog");
    }

private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName("LucidaTest");
        QCoreApplication::setApplicationName("localisation_test");
        QSettings().clear();
        QSettings().setValue(analysis_keys::kLive, false);
        QSettings().setValue(analysis_keys::kResultsBesideImage, true);  // in the temporary folder
        qRegisterMetaType<SlideView*>("SlideView*");
        QVERIFY(tmp_.isValid());
        demo::DemoSlideOptions options;  // 0.5 µm/px, the demo model's scale
        options.width = 3072;
        options.height = 2048;
        options.lossless = true;
        slide_ = tmp_.filePath("demo.tiff");
        const auto made = demo::writeDemoSlide(slide_.toStdString(),
                                               tmp_.filePath("mask.png").toStdString(), options);
        QVERIFY(made.lesions.size() >= 2);
        // A quarter pixel off the integers: no cell centre lies on an edge.
        for (const demo::DemoLesion& l : made.lesions)
            lesions_.push_back({l.x + 0.25, l.y + 0.25, double(l.x + l.width) + 0.25,
                                double(l.y + l.height) + 0.25});
        // Beside the first lesion, to its left (its window holds that lesion's heat).
        const Box& first = lesions_.front();
        const double w = first.x1 - first.x0;
        wrong_ = {first.x0 - w, first.y0, first.x0 - 0.5, first.y1};
        QVERIFY(wrong_.x0 > 0);

        tiles_ = std::make_unique<TileService>(std::size_t{128} << 20, 2);
        window_ = std::make_unique<MainWindow>(tiles_.get());
        window_->resize(1200, 800);
        window_->show();
        QVERIFY(QTest::qWaitForWindowExposed(window_.get()));
        QSignalSpy opened(window_.get(), &MainWindow::documentOpened);
        window_->openPath(slide_);
        QVERIFY(opened.wait(20000));
        view_ = opened.takeFirst().at(0).value<SlideView*>();
        QSignalSpy model(window_.get(), &MainWindow::modelOpened);
        window_->openModel(kDemoModel);
        QVERIFY(model.wait(60000));
        AnnotationDocument* doc = ViewAnnotations::of(view_)->document();
        std::vector<Annotation> items;
        for (const Box& r : lesions_) items.push_back(rectangle(r, "Tumor"));
        items.push_back(rectangle(wrong_, "Wrong"));
        doc->add(std::move(items), "lesions");
    }

    void cleanupTestCase() {
        window_.reset();
        tiles_.reset();
    }

    // Grad-CAM and Grad-CAM++ over every annotation: two rows; Grad-CAM's numbers per region are
    // the ones worked out here; the rectangle beside a lesion is a miss.
    void scoresEqualTheRegionsHeat() {
        LocalisationDialog* d = openDialog();
        QVERIFY(d);
        auto* classes = d->findChild<QComboBox*>("localisationClass");
        QCOMPARE(classes->count(), 3);  // all, Tumor, Wrong
        classes->setCurrentIndex(0);
        auto* methods = d->findChild<QListWidget*>("localisationMethods");
        for (int i = 0; i < methods->count(); ++i) {
            const QString m = methods->item(i)->data(Qt::UserRole).toString();
            methods->item(i)->setCheckState(m == "gradcam" || m == "gradcam++" ? Qt::Checked
                                                                               : Qt::Unchecked);
        }
        QSignalSpy finished(d, &LocalisationDialog::finished);
        d->findChild<QPushButton*>("localisationRun")->click();
        QVERIFY(d->isRunning());
        QVERIFY(finished.wait(120000));
        const auto& scores = d->scores();
        QCOMPARE(scores.size(), std::size_t(2));
        QCOMPARE(scores[0].method, std::string("gradcam"));
        QCOMPARE(scores[1].method, std::string("gradcam++"));
        auto* table = d->findChild<QTableWidget*>("localisationTable");
        QCOMPARE(table->rowCount(), 2);
        QCOMPARE(table->item(0, 0)->text(), QString("Grad-CAM"));
        QCOMPARE(table->item(1, 0)->text(), QString("Grad-CAM++"));
        const std::size_t n = lesions_.size() + 1;
        QCOMPARE(d->regions().size(), n);

        // The reference: the same heat made afresh in another results folder.
        const auto model = modelEngine().openModel(kDemoModel);
        const auto source = openImage(slide_.toStdString());
        const double width = double(source->info().width()),
                     height = double(source->info().height());
        std::vector<Box> rects = lesions_;
        rects.push_back(wrong_);
        AnalysisSettings settings;
        settings.method = "gradcam";
        int hits = 0;
        double energySum = 0;
        for (std::size_t k = 0; k < n; ++k) {
            const Box& r = rects[k];
            const double margin = 0.5 * std::max(r.x1 - r.x0, r.y1 - r.y0);
            const double x0 = std::max(0.0, r.x0 - margin), y0 = std::max(0.0, r.y0 - margin);
            const RectF window{x0, y0, std::min(width, r.x1 + margin) - x0,
                               std::min(height, r.y1 + margin) - y0};
            const auto cams = computeRegionCams(*source, *model, settings, {{"gradcam", {}}},
                                                window, tmp_.filePath("reference").toStdString());
            QVERIFY(cams && cams->size() == 1 && cams->front().patches > 0);
            const Expected want = expectedScore(cams->front(), r, width, height);
            const RegionScore& got = scores[0].regions[k];
            QVERIFY(got.analysed);
            QVERIFY2(
                got.hit == want.hit,
                qPrintable(
                    QString("region %1: hit %2, expected %3").arg(k).arg(got.hit).arg(want.hit)));
            QVERIFY2(std::abs(got.energy - want.energy) < 1e-6,
                     qPrintable(QString("region %1: energy %2, expected %3")
                                    .arg(k)
                                    .arg(got.energy)
                                    .arg(want.energy)));
            hits += want.hit;
            energySum += want.energy;
            qInfo("region %zu: %s, %.3f of the energy", k, want.hit ? "hit" : "miss", want.energy);
        }
        QVERIFY2(!scores[0].regions.back().hit, "the rectangle beside the lesion is a miss");
        QVERIFY2(!scores[1].regions.back().hit, "also for Grad-CAM++");
        QVERIFY(hits >= 1);  // the demo model points at some lesion
        QCOMPARE(table->item(0, 1)->text(), QString("%1 / %2").arg(hits).arg(n));
        QVERIFY(std::abs(scores[0].pointingAccuracy() - double(hits) / n) < 1e-12);
        QVERIFY(std::abs(scores[0].energyMean() - energySum / n) < 1e-6);

        // The CSV is the table's numbers; the export writes it.
        const QStringList lines = d->csv().trimmed().split('\n');
        QCOMPARE(lines.size(), 3);
        QCOMPARE(lines[0], QString("method,hits,regions,pointing_accuracy,energy_pointing_mean"));
        const QStringList row = lines[1].split(',');
        QCOMPARE(row[0], QString("gradcam"));
        QCOMPARE(row[1].toInt(), hits);
        QCOMPARE(row[2].toInt(), int(n));
        QVERIFY(std::abs(row[4].toDouble() - energySum / n) < 1e-6);
        const QString csvPath = tmp_.filePath("localisation.csv");
        QCOMPARE(d->exportTo(csvPath), QString());
        QFile file(csvPath);
        QVERIFY(file.open(QIODevice::ReadOnly));
        QCOMPARE(QString::fromUtf8(file.readAll()), d->csv());
        d->close();
    }

    // One class: only its regions are scored; the panel's button opens the same dialog.
    void oneClassFromThePanel() {
        auto* button = window_->analysisPanel()->findChild<QPushButton*>("localisationButton");
        QVERIFY(button);
        button->click();
        auto* d = window_->findChild<LocalisationDialog*>("localisationDialog");
        QVERIFY(d);
        auto* classes = d->findChild<QComboBox*>("localisationClass");
        classes->setCurrentIndex(classes->findText("Wrong"));
        auto* methods = d->findChild<QListWidget*>("localisationMethods");
        for (int i = 0; i < methods->count(); ++i)
            methods->item(i)->setCheckState(
                methods->item(i)->data(Qt::UserRole).toString() == "gradcam" ? Qt::Checked
                                                                             : Qt::Unchecked);
        QSignalSpy finished(d, &LocalisationDialog::finished);
        d->run();
        QVERIFY(finished.wait(60000));
        QCOMPARE(d->regions().size(), std::size_t(1));
        QCOMPARE(d->scores().size(), std::size_t(1));
        QCOMPARE(d->findChild<QTableWidget*>("localisationTable")->item(0, 1)->text(),
                 QString("0 / 1"));
        d->close();
    }

    // Cancel stops a long run (Score-CAM over every region, nothing stored for it) at once, with
    // nothing shown as scored.
    void cancelStopsTheRun() {
        LocalisationDialog* d = openDialog();
        QVERIFY(d);
        d->findChild<QComboBox*>("localisationClass")->setCurrentIndex(0);
        auto* methods = d->findChild<QListWidget*>("localisationMethods");
        for (int i = 0; i < methods->count(); ++i)
            methods->item(i)->setCheckState(
                methods->item(i)->data(Qt::UserRole).toString() == "scorecam" ? Qt::Checked
                                                                              : Qt::Unchecked);
        QSignalSpy finished(d, &LocalisationDialog::finished);
        d->run();
        QVERIFY(d->isRunning());
        QElapsedTimer timer;
        timer.start();
        d->findChild<QPushButton*>("localisationCancel")->click();
        QVERIFY(finished.wait(20000));
        QVERIFY2(timer.elapsed() < 10000, qPrintable(QString::number(timer.elapsed())));
        QVERIFY(d->scores().empty());
        QCOMPARE(d->findChild<QTableWidget*>("localisationTable")->rowCount(), 0);
        QCOMPARE(d->findChild<QLabel*>("localisationStatus")->text(), QString("Cancelled."));
        d->close();
    }
};

QTEST_MAIN(LocalisationTest)
#include "localisation_test.moc"
