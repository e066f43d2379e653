// Figure export off the GUI thread: progress arrives while a big figure renders, Cancel stops it
// and leaves no file (nor a temporary, nor a change to a file already there), the GUI thread keeps
// running its timers meanwhile, and a finished export is pixel for pixel what the renderer makes
// on the GUI thread from the live sources (the worker's copies of document and heat are exact).
#include "ExportFigureDialog.h"
#include "FigureExportJob.h"
#include "FigureRenderer.h"
#include "HeatmapOverlay.h"
#include "ImageDocument.h"
#include "MainWindow.h"
#include "SlideView.h"
#include "TileService.h"
#include "ViewWaits.h"
#include "fixtures/Fixtures.h"
#include "image/ImageSource.h"

#include <QAction>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QProgressDialog>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTimer>
#include <QtTest>

#include <cmath>

using namespace lucida;
using namespace lucida::ui;

namespace {

std::shared_ptr<const FloatRaster> rampHeat(const ImageInfo& info, double cell) {
    auto r = std::make_shared<FloatRaster>();
    r->cellSize = cell;
    r->width = int(std::ceil(info.width() / cell));
    r->height = int(std::ceil(info.height() / cell));
    for (int y = 0; y < r->height; ++y)
        for (int x = 0; x < r->width; ++x)
            r->values.push_back(float(x * 3 + y) / float(3 * r->width + r->height));
    return r;
}

// Ticks of a 10 ms timer on the GUI thread and the longest gap between two.
struct Heartbeat {
    QTimer timer;
    QElapsedTimer clock;
    qint64 last = 0, longestGap = 0;
    int ticks = 0;
    Heartbeat() {
        timer.setInterval(10);
        QObject::connect(&timer, &QTimer::timeout, [this] {
            const qint64 now = clock.elapsed();
            longestGap = std::max(longestGap, now - last);
            last = now;
            ++ticks;
        });
        clock.start();
        timer.start();
    }
};

}  // namespace

class FigureProgressTest : public QObject {
    Q_OBJECT
private:
    std::unique_ptr<TileService> tiles_;
    QTemporaryDir dir_;

private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName("LucidaTest");
        QCoreApplication::setApplicationName("figure_progress_test");
        QSettings().clear();
        tiles_ = std::make_unique<TileService>(std::size_t{256} << 20, 2);
        QVERIFY(dir_.isValid());
    }

    // The real window's dialog, a figure of 12000 px: progress signals arrive, the progress
    // dialog's Cancel stops the worker, no file is left, and the GUI thread kept ticking.
    void cancelFromTheWindowLeavesNoFile() {
        MainWindow window(tiles_.get());
        window.resize(1000, 700);
        window.show();
        QSignalSpy opened(&window, &MainWindow::documentOpened);
        window.openPath(QString::fromStdString(fixtures::path("slides/aperio.svs")));
        QVERIFY(opened.wait(20000));
        QVERIFY(viewtest::waitLoaded(window.currentView()));
        window.findChild<QAction*>("exportFigureAction")->trigger();
        auto* dialog = window.findChild<ExportFigureDialog*>();
        QVERIFY(dialog);
        auto* width = dialog->findChild<QSpinBox*>("figureWidthPx");
        QVERIFY(width);
        width->setValue(12000);
        QCOMPARE(dialog->options().widthPx, 12000);

        const QString folder = dir_.filePath("cancelled");
        QVERIFY(QDir().mkpath(folder));
        const QString path = folder + "/big.png";
        int progressSignals = 0;
        bool clicked = false;
        Heartbeat heartbeat;
        // Once the worker reports progress, press Cancel in the progress dialog as a user would.
        QTimer watcher;
        watcher.setInterval(5);
        connect(&watcher, &QTimer::timeout, this, [&] {
            auto* job = dialog->findChild<FigureExportJob*>();
            if (job && job->property("counted").isNull()) {
                job->setProperty("counted", true);
                connect(job, &FigureExportJob::progressed, this, [&] { ++progressSignals; });
            }
            auto* progress = dialog->findChild<QProgressDialog*>();
            if (progress && progress->isVisible() && progressSignals > 0 && !clicked) {
                clicked = true;
                auto* cancel = progress->findChild<QPushButton*>();
                QVERIFY(cancel);
                QTest::mouseClick(cancel, Qt::LeftButton);
            }
        });
        watcher.start();
        QElapsedTimer took;
        took.start();
        const QString error = dialog->exportTo(path);
        watcher.stop();
        QVERIFY2(clicked, "no progress signal arrived");
        QVERIFY(progressSignals >= 1);
        QVERIFY2(dialog->exportCancelled(), qPrintable(error));
        QVERIFY(!error.isEmpty());
        QVERIFY2(QDir(folder).entryList(QDir::Files | QDir::Hidden).isEmpty(),
                 qPrintable(QDir(folder).entryList(QDir::Files | QDir::Hidden).join(',')));
        QVERIFY(heartbeat.ticks >= 1);
        QVERIFY(!dialog->findChild<FigureExportJob*>());  // gone with its export
        // Cancel comes quickly: the 12000 × 8000 px figure was not finished first.
        QVERIFY2(took.elapsed() < 15000, qPrintable(QString::number(took.elapsed())));
        dialog->reject();
    }

    // Cancelled while encoding: libpng is stopped at its next write; a file already at the path
    // is left exactly as it was.
    void cancelWhileEncodingKeepsTheOldFile() {
        std::shared_ptr<const ImageSource> slide = openImage(fixtures::path("slides/aperio.svs"));
        ImageDocument document(slide);
        FigureOptions o;
        o.region = RectF{0, 0, 3000, 2000};
        o.widthPx = 9000;
        o.caption = o.colourBar = false;
        const QString path = dir_.filePath("kept.png");
        {
            QFile old(path);
            QVERIFY(old.open(QIODevice::WriteOnly));
            old.write("the figure of last week");
        }
        FigureExportJob job({&document, tiles_.get()}, o, {});
        std::vector<FigureProgress::Stage> stages;
        connect(&job, &FigureExportJob::progressed, this, [&](const FigureProgress::State& s) {
            if (stages.empty() || stages.back() != s.stage) stages.push_back(s.stage);
            if (s.stage == FigureProgress::Stage::Encoding) job.cancel();
        });
        QSignalSpy finished(&job, &FigureExportJob::finished);
        job.startWriting(path);
        QVERIFY(finished.wait(60000));
        QCOMPARE(finished.first().at(1).toBool(), true);
        QVERIFY(stages.size() >= 2);
        QCOMPARE(stages.back(), FigureProgress::Stage::Encoding);
        QFile kept(path);
        QVERIFY(kept.open(QIODevice::ReadOnly));
        QCOMPARE(kept.readAll(), QByteArray("the figure of last week"));
        QCOMPARE(QDir(dir_.path()).entryList({"kept*"}, QDir::Files | QDir::Hidden).size(), 1);
    }

    // A finished export: progress only grows, ends Done, the GUI thread ticked throughout, and the
    // PNG is the GUI thread's render of the live sources (heat included) exactly.
    void finishedExportIsTheRendererOutput() {
        std::shared_ptr<const ImageSource> slide = openImage(fixtures::path("slides/aperio.svs"));
        ImageDocument document(slide);
        const ImageInfo& info = document.info();
        HeatmapOverlay overlay;
        overlay.setImageSize(QSizeF(double(info.width()), double(info.height())));
        overlay.setRasters(rampHeat(info, 48), nullptr);
        overlay.setOpacity(0.55);
        overlay.setThreshold(0.2);
        overlay.setColourMap(ColourMap::Viridis);
        const FigureSources sources{&document, tiles_.get(), overlay.layers().front(),
                                    ColourMap::Viridis, 0.2};
        FigureOptions o;
        o.region = RectF{300, 200, 2400, 1600};
        o.widthPx = 5000;
        o.captionText = "aperio.svs";
        o.colourBarLabel = "ramp";
        o.overview = true;

        FigureExportJob job(sources, o, {&overlay});
        double lastDone = -1;
        bool grows = true;
        FigureProgress::Stage lastStage = FigureProgress::Stage::Rendering;
        connect(&job, &FigureExportJob::progressed, this, [&](const FigureProgress::State& s) {
            if (s.stage == FigureProgress::Stage::Rendering && s.done < lastDone) grows = false;
            lastDone = s.done;
            lastStage = s.stage;
        });
        QSignalSpy finished(&job, &FigureExportJob::finished);
        const QString path = dir_.filePath("done.png");
        Heartbeat heartbeat;
        QElapsedTimer took;
        took.start();
        job.startWriting(path);
        QVERIFY(finished.wait(120000));
        const qint64 duration = took.elapsed();
        QCOMPARE(finished.first().at(0).toString(), QString());
        QCOMPARE(finished.first().at(1).toBool(), false);
        QVERIFY(grows);
        QCOMPARE(lastStage, FigureProgress::Stage::Done);
        // The GUI thread was free: its timer's longest pause is a fraction of the export.
        QVERIFY2(duration > 300 && heartbeat.longestGap < std::max<qint64>(250, duration / 3),
                 qPrintable(QStringLiteral("export %1 ms, longest GUI pause %2 ms")
                                .arg(duration)
                                .arg(heartbeat.longestGap)));

        const QImage written = QImage(path).convertToFormat(QImage::Format_RGB32);
        const QImage expected =
            FigureRenderer(sources).renderImage(o).convertToFormat(QImage::Format_RGB32);
        QCOMPARE(written.size(), expected.size());
        if (written != expected) {
            expected.save(dir_.filePath("expected.png"));
            QFile::copy(path, "/tmp/h15b/written.png");
            expected.save("/tmp/h15b/expected.png");
        }
        QVERIFY(written == expected);
        // And the heat is in it: the same figure without heat differs.
        const QImage plain = FigureRenderer({&document, tiles_.get()})
                                 .renderImage(o)
                                 .convertToFormat(QImage::Format_RGB32);
        QVERIFY(written != plain);
    }
};

QTEST_MAIN(FigureProgressTest)
#include "figure_progress_test.moc"
