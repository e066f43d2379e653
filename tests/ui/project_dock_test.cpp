// Cohort projects in the real window (offscreen): a project of three demo slides, a broken file
// and a missing one; the Project dock's statuses before, during and after its background queue
// (none → partial → done; broken → failed with the reason; missing shown as such), cancelled
// mid-slide and resumed from the stored patches, the queue waiting while the viewer is busy, sort
// and filter, double-click opening an image on the project's results and with its own settings
// (the queue's results key, shown without running the model; the Analysis panel's project line
// and its Edit…); and the score column against `lucida-cli batch` of the same project, which must
// find every patch stored (0 inferred).
#include "AnalysisController.h"
#include "AnalysisPanel.h"
#include "ImageDocument.h"
#include "ImageSettingsDialog.h"
#include "ImageSettingsNote.h"
#include "MainWindow.h"
#include "ModelSession.h"
#include "ProjectDock.h"
#include "ProjectTableModel.h"
#include "QueueSettings.h"
#include "SlideView.h"
#include "TileService.h"
#include "cohort/Cohort.h"
#include "engine/ModelEngine.h"
#include "image/ImageSource.h"

#include <QApplication>
#include <QComboBox>
#include <QDialog>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QProcess>
#include <QSettings>
#include <QSignalSpy>
#include <QSortFilterProxyModel>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTableView>
#include <QTemporaryDir>
#include <QTimer>
#include <QToolButton>
#include <QtTest>

#include <cmath>
#include <map>
#include <memory>
#include <optional>

using namespace lucida;
using namespace lucida::ui;

namespace {
constexpr int kRunMs = 120000;

bool run(const QStringList& args, int* exitCode = nullptr) {
    QProcess p;
    p.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    p.start(QStringLiteral(LUCIDA_CLI), args);
    if (!p.waitForFinished(kRunMs)) return false;
    if (exitCode) *exitCode = p.exitCode();
    return p.exitStatus() == QProcess::NormalExit;
}
}  // namespace

class ProjectDockTest : public QObject {
    Q_OBJECT

    std::unique_ptr<QTemporaryDir> tmp_;
    std::unique_ptr<TileService> tiles_;
    std::unique_ptr<MainWindow> window_;
    QString model_ = QStringLiteral(LUCIDA_SOURCE_DIR "/resources/demo/model/demo-smallcnn.pth");

    ProjectDock* dock() const { return window_->projectDock(); }
    ProjectTableModel* table() const { return dock()->table(); }
    int rowOf(const QString& name) const {
        for (int r = 0; r < table()->rowCount(); ++r)
            if (table()->image(r).path.ends_with("/" + name.toStdString())) return r;
        return -1;
    }
    ImageStatus status(const QString& name) const { return table()->scan(rowOf(name)).status; }
    QString statusShown(const QString& name) const {
        return table()->index(rowOf(name), ProjectTableModel::Status).data().toString();
    }
    // Opens `name` as a double-click in the dock does; its view, or null.
    SlideView* openByDoubleClick(const QString& name) {
        QSortFilterProxyModel* proxy = dock()->proxy();
        proxy->setFilterFixedString(name);
        QSignalSpy opened(window_.get(), &MainWindow::documentOpened);
        if (proxy->rowCount() == 1) emit dock()->view()->doubleClicked(proxy->index(0, 0));
        proxy->setFilterFixedString("");
        return opened.wait(20000) ? window_->currentView() : nullptr;
    }
    // What the project's queue has stored for `name` with its own and the window's settings.
    std::optional<SlideAnalysis> queueAnalysis(const QString& name) const {
        const CohortImage& image = table()->image(rowOf(name));
        const QueueSettings q = queueSettingsOf(*window_->analysisPanel()->session());
        const auto source = openProjectImage(QString::fromStdString(image.path), image.settings);
        return modelEngine().loadSlideAnalysis(*source, *q.model,
                                               imageAnalysisSettings(q, image.settings),
                                               dock()->resultsDir().toStdString());
    }
    bool waitScans() {
        QSignalSpy done(dock(), &ProjectDock::scansFinished);
        return dock()->pendingScans() == 0 || done.wait(kRunMs);
    }

private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName("LucidaTest");
        QCoreApplication::setApplicationName("project_dock_test");
        QSettings().clear();
        QSettings().setValue("analysis/live", false);
        tmp_ = std::make_unique<QTemporaryDir>();
        QVERIFY(tmp_->isValid());
        const QDir dir(tmp_->path());
        QVERIFY(dir.mkpath("slides"));
        for (int n = 1; n <= 3; ++n) {
            const QString make = dir.filePath(QString("make-%1").arg(n));
            QVERIFY(run({"make-demo", "--out", make, "--seed", QString::number(n),
                         "--train-per-class", "0", "--val-per-class", "0", "--test-per-class", "0",
                         "--slide-width", "2048", "--slide-height", "1536"}));
            QVERIFY(QFile::rename(make + "/slide/demo-slide.tiff",
                                  dir.filePath(QString("slides/slide-%1.tiff").arg(n))));
        }
        QFile broken(dir.filePath("slides/broken.tiff"));  // not an image at all
        QVERIFY(broken.open(QIODevice::WriteOnly));
        broken.write(QByteArray(4096, 'x'));
        broken.close();
        QFile manifest(dir.filePath("manifest.csv"));
        QVERIFY(manifest.open(QIODevice::WriteOnly));
        manifest.write(
            "path,label,group\nslides/slide-1.tiff,1,a\n\"slides/slide-2.tiff\",0,a\n"
            "slides/slide-3.tiff,1,b\nslides/broken.tiff,0,b\nslides/gone.tiff,,c\n");
        manifest.close();
        tiles_ = std::make_unique<TileService>();
        window_ = std::make_unique<MainWindow>(tiles_.get());
        window_->show();
        QSignalSpy opened(window_.get(), &MainWindow::modelOpened);
        window_->openModel(model_);
        QVERIFY(opened.wait(60000));
    }

    void projectFromManifest() {
        const QString project = tmp_->filePath("study.lucida-project.json");
        dock()->createProject(tmp_->filePath("manifest.csv"), project);
        QCOMPARE(dock()->resultsDir(), tmp_->filePath("study.lucida-project.results"));
        QVERIFY(QFile::exists(project));
        QCOMPARE(table()->rowCount(), 5);
        QVERIFY(waitScans());
        for (const char* name : {"slide-1.tiff", "slide-2.tiff", "slide-3.tiff"}) {
            const ImageScan& scan = table()->scan(rowOf(name));
            QCOMPARE(scan.status, ImageStatus::None);
            QCOMPARE(scan.width, 2048);
            QCOMPARE(scan.height, 1536);
            QVERIFY(!scan.thumbnail.isNull());
            QVERIFY(scan.thumbnail.width() <= kThumbnailSide);
        }
        QCOMPARE(statusShown("slide-1.tiff"), QString("none"));
        QCOMPARE(status("gone.tiff"), ImageStatus::Missing);
        QCOMPARE(statusShown("gone.tiff"), QString("missing"));
        QCOMPARE(status("broken.tiff"), ImageStatus::Failed);
        // The reason names the file (the tooltip); the status column leaves the path out.
        QVERIFY(table()->scan(rowOf("broken.tiff")).error.contains("broken.tiff"));
        QVERIFY2(statusShown("broken.tiff").startsWith("failed: ") &&
                     !statusShown("broken.tiff").contains("/slides/"),
                 qPrintable(statusShown("broken.tiff")));
        QCOMPARE(table()->index(rowOf("slide-2.tiff"), ProjectTableModel::Label).data().toString(),
                 QString("0"));
        QCOMPARE(table()->index(rowOf("slide-3.tiff"), ProjectTableModel::Group).data().toString(),
                 QString("b"));
    }

    // Cancelled in the middle of slide 2: slide 1 done with a score, slide 2 partial, slide 3 none.
    void queueCancelledMidSlide() {
        QSignalSpy finished(dock(), &ProjectDock::queueFinished);
        bool cancelled = false;
        const int second = rowOf("slide-2.tiff");
        auto* queue = dock()->findChild<AnalysisQueue*>();
        QVERIFY(queue);
        QStringList shownWhileRunning;
        connect(queue, &AnalysisQueue::progressChanged, this, [&](const QueueProgress& p) {
            shownWhileRunning << statusShown("slide-1.tiff");
            if (!cancelled && p.current == second && p.patchesDone > 0 &&
                p.patchesDone < p.patchesTotal) {
                cancelled = true;
                dock()->cancelQueue();
            }
        });
        dock()->analyseAll();
        QVERIFY(dock()->isQueueRunning());
        QVERIFY(finished.wait(kRunMs));
        disconnect(queue, &AnalysisQueue::progressChanged, this, nullptr);
        QVERIFY(cancelled);
        QCOMPARE(finished.first().first().toBool(), true);
        QVERIFY(shownWhileRunning.filter(QRegularExpression("^analysing \\d+ %$")).size() > 0);
        QVERIFY(waitScans());
        QCOMPARE(status("slide-1.tiff"), ImageStatus::Done);
        QVERIFY(table()->scan(rowOf("slide-1.tiff")).score.has_value());
        const ImageScan& partial = table()->scan(second);
        QCOMPARE(partial.status, ImageStatus::Partial);
        QVERIFY(partial.done > 0 && partial.done < partial.total);
        QVERIFY(statusShown("slide-2.tiff").startsWith("partial "));
        QCOMPARE(status("slide-3.tiff"), ImageStatus::None);
    }

    // Resumed while the viewer is busy: the queue waits; then it finishes, skipping slide 1
    // (done), going on from slide 2's stored patches, and marking the broken file failed.
    void queueYieldsThenResumes() {
        bool viewerBusy = true;
        dock()->setViewerBusy([&viewerBusy] { return viewerBusy; });
        auto* queue = dock()->findChild<AnalysisQueue*>();
        QList<QueueProgress> progress;
        connect(queue, &AnalysisQueue::progressChanged, this,
                [&](const QueueProgress& p) { progress << p; });
        QSignalSpy images(queue, &AnalysisQueue::imageFinished);
        QSignalSpy finished(dock(), &ProjectDock::queueFinished);
        const std::size_t storedBefore = table()->scan(rowOf("slide-2.tiff")).done;
        dock()->analyseAll();
        QTest::qWait(1500);
        QCOMPARE(images.count(), 0);  // held the whole time
        auto* text = dock()->findChild<QLabel*>("projectProgressText");
        QVERIFY2(text->text().contains("waiting for the viewer"), qPrintable(text->text()));
        viewerBusy = false;
        QVERIFY(finished.wait(kRunMs));
        disconnect(queue, &AnalysisQueue::progressChanged, this, nullptr);
        QCOMPARE(finished.first().first().toBool(), false);
        QCOMPARE(images.count(), 3);  // slide 2, slide 3, broken; slide 1 was done, gone missing
        QVERIFY(!progress.isEmpty());
        QCOMPARE(progress.last().total, 3);
        QCOMPARE(progress.last().finished, 3);
        // Slide 2's run started from what was stored: its first progress counts them.
        for (const auto& p : progress)
            if (p.current == rowOf("slide-2.tiff") && p.patchesTotal) {
                QVERIFY(p.patchesDone >= storedBefore);
                break;
            }
        QVERIFY(waitScans());
        for (const char* name : {"slide-1.tiff", "slide-2.tiff", "slide-3.tiff"})
            QCOMPARE(status(name), ImageStatus::Done);
        QCOMPARE(status("broken.tiff"), ImageStatus::Failed);
        QVERIFY(statusShown("broken.tiff").startsWith("failed: "));
        QVERIFY(QFile::exists(dock()->resultsDir() + "/broken.tiff.failed.json"));
        QCOMPARE(status("gone.tiff"), ImageStatus::Missing);
        dock()->setViewerBusy({});
    }

    void sortAndFilter() {
        QSortFilterProxyModel* proxy = dock()->proxy();
        dock()->view()->sortByColumn(ProjectTableModel::Score, Qt::DescendingOrder);
        double best = -1;
        for (const char* name : {"slide-1.tiff", "slide-2.tiff", "slide-3.tiff"})
            best = std::max(best, *table()->scan(rowOf(name)).score);
        const QModelIndex top = proxy->index(0, ProjectTableModel::Score);
        QCOMPARE(top.data().toString(), QString::number(best, 'f', 4));
        proxy->setFilterFixedString("failed");
        QCOMPARE(proxy->rowCount(), 1);
        QVERIFY(proxy->index(0, 0).data().toString() == "broken.tiff");
        proxy->setFilterFixedString("");
        QCOMPARE(proxy->rowCount(), 5);
    }

    // `lucida-cli batch` of the project keeps its results in the project's folder: nothing is
    // inferred again, and its cohort table's scores are the dock's.
    void scoresEqualTheCliTable() {
        const QString out = tmp_->filePath("cli");
        int exitCode = -1;
        QVERIFY(run({"batch", dock()->projectPath(), "--model", model_, "--out", out}, &exitCode));
        QCOMPARE(exitCode, 1);  // the broken and the missing image failed
        QFile csv(out + "/cohort.csv");
        QVERIFY(csv.open(QIODevice::ReadOnly));
        const QStringList header = QString::fromUtf8(csv.readLine()).trimmed().split(',');
        const auto column = [&header](const char* name) { return header.indexOf(name); };
        int compared = 0;
        while (!csv.atEnd()) {
            const QStringList f = QString::fromUtf8(csv.readLine()).trimmed().split(',');
            const QString name = QFileInfo(f[column("image")]).fileName();
            if (f[column("status")] != "done") continue;
            QCOMPARE(f[column("inferred")], QString("0"));
            const auto score = table()->scan(rowOf(name)).score;
            QVERIFY(score.has_value());
            QVERIFY2(std::abs(*score - f[column("score")].toDouble()) < 1e-7,
                     qPrintable(name + ": " + QString::number(*score, 'g', 12) + " vs " +
                                f[column("score")]));
            ++compared;
        }
        QCOMPARE(compared, 3);
    }

    // Double-click opens the image; its analysis uses the project's results folder.
    void doubleClickOpensOnTheProjectResults() {
        QSortFilterProxyModel* proxy = dock()->proxy();
        proxy->setFilterFixedString("slide-3");
        QCOMPARE(proxy->rowCount(), 1);
        QSignalSpy opened(window_.get(), &MainWindow::documentOpened);
        emit dock()->view()->doubleClicked(proxy->index(0, 0));
        QVERIFY(opened.wait(20000));
        SlideView* view = window_->currentView();
        QVERIFY(view);
        QVERIFY(view->document()->path().endsWith("slide-3.tiff"));
        auto* controller = AnalysisController::of(view);
        QVERIFY(controller);
        QCOMPARE(controller->resultsRoot(), dock()->resultsDir());
        proxy->setFilterFixedString("");
    }

    void reopenedProjectShowsStoredStatus() {
        const QString path = dock()->projectPath();
        dock()->openProject(path);
        QVERIFY(waitScans());
        QCOMPARE(status("slide-2.tiff"), ImageStatus::Done);
        QCOMPARE(status("broken.tiff"), ImageStatus::Failed);
    }

    // The dialog's Precision: "window's" (no override), fp32 or int8, read back as set.
    void imageSettingsDialogPrecision() {
        ImageSettings own;
        own.mode = AnalysisMode::Dense;
        own.int8 = false;
        ImageSettingsDialog dialog(own, "slide.tiff");
        auto* precision = dialog.findChild<QComboBox*>("imagePrecision");
        QVERIFY(precision);
        QCOMPARE(precision->currentText(), QString("fp32"));
        QVERIFY(precision->toolTip().contains("dense"));
        QVERIFY(dialog.settings() == own);
        precision->setCurrentIndex(precision->findText("int8"));
        QVERIFY(dialog.settings().int8 == true);
        precision->setCurrentIndex(0);
        QCOMPARE(precision->currentText(), QString("window's"));
        QVERIFY(!dialog.settings().int8 && dialog.settings().mode == AnalysisMode::Dense);
        own.int8 = true;
        ImageSettingsDialog int8Dialog(own, "slide.tiff");
        QCOMPARE(int8Dialog.findChild<QComboBox*>("imagePrecision")->currentText(),
                 QString("int8"));
    }

    // Image Settings… from the dock: saved to the project file at once (read back here with Qt's
    // own JSON parser), shown in the table, and used by the status scan and the queue: slide 1's
    // own overlap and precision (int8; the window's: fp32) make it "none" again and the queue
    // analyses it with them (stored settings.json says so; `lucida-cli batch` then finds it done,
    // 0 inferred); slide 3's own pixel size shows in its row and, excluded, it is neither queued
    // nor batched.
    void imageSettingsFromTheDock() {
        QTableView* view = dock()->view();
        const QModelIndex slide1 =
            dock()->proxy()->mapFromSource(table()->index(rowOf("slide-1.tiff"), 0));
        view->selectionModel()->select(
            slide1, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
        bool edited = false;
        QTimer::singleShot(0, this, [&edited] {
            auto* dialog = qobject_cast<QDialog*>(QApplication::activeModalWidget());
            if (!dialog) return;
            auto* overlap = dialog->findChild<QDoubleSpinBox*>("imageOverlap");
            auto* precision = dialog->findChild<QComboBox*>("imagePrecision");
            if (!overlap || overlap->text() != "window's" || !precision ||
                precision->currentText() != "window's")
                return dialog->reject();
            overlap->setValue(0.5);
            precision->setCurrentIndex(precision->findText("int8"));
            edited = true;
            dialog->accept();
        });
        dock()->editSelectedImageSettings();
        QVERIFY(edited);
        ImageSettings own3;
        own3.pixelSize = 0.25;
        own3.excluded = true;
        dock()->setImageSettings({rowOf("slide-3.tiff")}, own3);

        QFile file(dock()->projectPath());
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QJsonArray images =
            QJsonDocument::fromJson(file.readAll()).object()["images"].toArray();
        QCOMPARE(images.size(), 5);
        for (const auto& entry : images) {
            const QJsonObject o = entry.toObject();
            const QJsonObject settings = o["settings"].toObject();
            if (o["path"].toString().endsWith("slide-1.tiff")) {
                QCOMPARE(settings.keys(), (QStringList{"overlap", "precision"}));
                QCOMPARE(settings["overlap"].toDouble(), 0.5);
                QCOMPARE(settings["precision"].toString(), QString("int8"));
            } else if (o["path"].toString().endsWith("slide-3.tiff")) {
                QCOMPARE(settings["pixel_size_um"].toDouble(), 0.25);
                QCOMPARE(settings["excluded"].toBool(), true);
            } else {
                QVERIFY2(!o.contains("settings"), qPrintable(o["path"].toString()));
            }
        }
        QVERIFY(waitScans());
        const auto own = [this](const char* name) {
            return table()->index(rowOf(name), ProjectTableModel::Own).data().toString();
        };
        QCOMPARE(own("slide-1.tiff"), QString("int8, overlap 0.5"));
        QCOMPARE(own("slide-2.tiff"), QString());
        QCOMPARE(status("slide-1.tiff"), ImageStatus::None);  // nothing stored at overlap 0.5
        QCOMPARE(status("slide-2.tiff"), ImageStatus::Done);
        QCOMPARE(status("slide-3.tiff"), ImageStatus::None);  // nothing at 0.25 µm/px
        QCOMPARE(*table()->scan(rowOf("slide-3.tiff")).micronsPerPixel, 0.25);
        QCOMPARE(
            table()->index(rowOf("slide-3.tiff"), ProjectTableModel::PixelSize).data().toString(),
            QString("0.250 µm (own)"));
        QCOMPARE(table()->index(rowOf("slide-3.tiff"), ProjectTableModel::Status).data().toString(),
                 QString("excluded"));

        QSignalSpy finished(dock(), &ProjectDock::queueFinished);
        QSignalSpy progress(dock()->findChild<AnalysisQueue*>(), &AnalysisQueue::progressChanged);
        dock()->analyseAll();
        QVERIFY(finished.wait(kRunMs));
        QCOMPARE(progress.last().at(0).value<QueueProgress>().total, 2);  // slide 1, broken
        QVERIFY(waitScans());
        QCOMPARE(status("slide-1.tiff"), ImageStatus::Done);
        QCOMPARE(status("slide-3.tiff"), ImageStatus::None);
        // The queue stored slide 1's results at its own overlap, in int8 (slide 2's: fp32).
        QVERIFY(!window_->analysisPanel()->session()->int8());
        int atHalf = 0, fp32 = 0;
        for (const QFileInfo& dir :
             QDir(dock()->resultsDir()).entryInfoList(QDir::Dirs | QDir::NoDotAndDotDot)) {
            QFile settings(dir.filePath() + "/settings.json");
            if (!settings.open(QIODevice::ReadOnly)) continue;
            const QJsonObject o = QJsonDocument::fromJson(settings.readAll()).object();
            if (o["slide"].toString().endsWith("slide-1.tiff") && o["overlap"].toDouble() == 0.5 &&
                o["precision"].toString() == "int8")
                ++atHalf;
            if (o["slide"].toString().endsWith("slide-2.tiff") &&
                o["precision"].toString() == "fp32")
                ++fp32;
        }
        QCOMPARE(atHalf, 1);
        QVERIFY(fp32 >= 1);
        // The CLI, with the same window settings, takes slide 1's from the project too.
        const QString out = tmp_->filePath("cli-own");
        QVERIFY(run({"batch", dock()->projectPath(), "--model", model_, "--out", out}));
        QFile json(out + "/cohort.json");
        QVERIFY(json.open(QIODevice::ReadOnly));
        for (const auto& row :
             QJsonDocument::fromJson(json.readAll()).object()["images"].toArray()) {
            const QJsonObject r = row.toObject();
            if (r["image"].toString().endsWith("slide-1.tiff")) {
                QCOMPARE(r["status"].toString(), QString("done"));
                QCOMPARE(r["inferred"].toInt(), 0);
            } else if (r["image"].toString().endsWith("slide-3.tiff")) {
                QCOMPARE(r["status"].toString(), QString("excluded"));
            }
        }
    }

    // Double-click opens an image with its own pixel size (slide 3: 0.25 µm/px, set above; the
    // file says otherwise), as the queue analyses it.
    void doubleClickUsesTheImagesOwnPixelSize() {
        const auto fileMpp = openImage(table()->image(rowOf("slide-3.tiff")).path)->info().mppX;
        QVERIFY(!fileMpp || std::abs(*fileMpp - 0.25) > 1e-6);
        QSortFilterProxyModel* proxy = dock()->proxy();
        proxy->setFilterFixedString("slide-3");
        QCOMPARE(proxy->rowCount(), 1);
        QSignalSpy opened(window_.get(), &MainWindow::documentOpened);
        emit dock()->view()->doubleClicked(proxy->index(0, 0));
        QVERIFY(opened.wait(20000));
        SlideView* view = window_->currentView();
        QVERIFY(view);
        QVERIFY2(view->document()->path().endsWith("slide-3.tiff"),
                 qPrintable(view->document()->path()));
        QVERIFY(view->document()->info().mppX);
        QCOMPARE(*view->document()->info().mppX, 0.25);
        QCOMPARE(*view->document()->info().mppY, 0.25);
        proxy->setFilterFixedString("");
    }

    // Slide 1's own overlap (0.5, set above; the panel's: none): the view opened by double-click
    // analyses at it, with the queue's results key, and Analyse Slide shows the queue's stored
    // patches without running the model; the Analysis panel says so and shows 50 % in its
    // disabled Overlap. Slide 2 (no own settings) keeps the panel's, and switching tabs switches
    // what the panel shows. Edit… in the panel saves a new overlap to the project file, leaves
    // the window's alone and re-keys the view, whose new run stores what the queue would.
    void doubleClickAnalysesWithTheImagesOwnSettings() {
        AnalysisPanel* panel = window_->analysisPanel();
        QVERIFY(panel);
        ModelSession* session = panel->session();
        QCOMPARE(session->overlap(), 0.0);
        SlideView* view1 = openByDoubleClick("slide-1");
        QVERIFY(view1);
        auto* c1 = AnalysisController::of(view1);
        QCOMPARE(c1->imageSettings().overlap.value_or(-1), 0.5);
        QCOMPARE(c1->analysisSettings().overlap, 0.5);
        const auto queued = queueAnalysis("slide-1.tiff");
        QVERIFY(queued && queued->complete());
        c1->start();
        QTRY_COMPARE_WITH_TIMEOUT(c1->state(), AnalysisController::State::Complete, kRunMs);
        QCOMPARE(c1->analysis()->key, queued->key);
        QCOMPARE(c1->progress().inferred, std::size_t(0));
        QCOMPARE(c1->progress().reused, queued->outcomes.size());
        ImageSettingsNote* note = panel->imageSettingsNote();
        QVERIFY(!note->isHidden());
        QCOMPARE(note->label()->text(),
                 QString("Project settings for this image: int8, overlap 0.5."));
        QVERIFY(!panel->overlapCombo()->isEnabled());
        QCOMPARE(panel->overlapCombo()->currentData().toDouble(), 0.5);
        QVERIFY(c1->analysis()->settings.int8);
        QVERIFY(!panel->precisionCombo()->isEnabled());  // the image's int8, not the window's
        QCOMPARE(panel->precisionCombo()->currentData().toBool(), true);
        QVERIFY(!session->int8());
        QVERIFY(panel->methodCombo()->isEnabled());  // not the image's own

        SlideView* view2 = openByDoubleClick("slide-2");
        QVERIFY(view2);
        auto* c2 = AnalysisController::of(view2);
        QVERIFY(c2->imageSettings().empty());
        QCOMPARE(c2->analysisSettings().overlap, 0.0);
        QVERIFY(note->isHidden());
        QVERIFY(panel->overlapCombo()->isEnabled());
        QCOMPARE(panel->overlapCombo()->currentData().toDouble(), 0.0);
        QVERIFY(panel->precisionCombo()->isEnabled());  // dense mode, the window's fp32
        QCOMPARE(panel->precisionCombo()->currentData().toBool(), false);
        QVERIFY(!c2->analysisSettings().int8);
        window_->tabs()->setCurrentWidget(view1);
        QVERIFY(!note->isHidden());
        QCOMPARE(panel->overlapCombo()->currentData().toDouble(), 0.5);

        bool edited = false;
        QTimer::singleShot(0, this, [&edited] {
            auto* dialog = qobject_cast<QDialog*>(QApplication::activeModalWidget());
            if (!dialog) return;
            auto* overlap = dialog->findChild<QDoubleSpinBox*>("imageOverlap");
            if (!overlap || overlap->value() != 0.5) return dialog->reject();
            overlap->setValue(0.25);
            edited = true;
            dialog->accept();
        });
        note->editButton()->click();
        QVERIFY(edited);
        QCOMPARE(readProject(dock()->projectPath().toStdString())
                     .images[std::size_t(rowOf("slide-1.tiff"))]
                     .settings.overlap.value_or(-1),
                 0.25);
        QCOMPARE(session->overlap(), 0.0);
        QCOMPARE(c1->imageSettings().overlap.value_or(-1), 0.25);
        QCOMPARE(note->label()->text(),
                 QString("Project settings for this image: int8, overlap 0.25."));
        QCOMPARE(panel->overlapCombo()->currentData().toDouble(), 0.25);
        QTRY_COMPARE_WITH_TIMEOUT(c1->state(), AnalysisController::State::Complete, kRunMs);
        QCOMPARE(c1->analysis()->settings.overlap, 0.25);
        const auto requeued = queueAnalysis("slide-1.tiff");
        QVERIFY(requeued && requeued->complete());
        QCOMPARE(c1->analysis()->key, requeued->key);
        QVERIFY(requeued->key != queued->key);
    }

    void cleanupTestCase() {
        window_.reset();
        tiles_.reset();
    }
};

QTEST_MAIN(ProjectDockTest)
#include "project_dock_test.moc"
