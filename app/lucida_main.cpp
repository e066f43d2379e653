// lucida: the viewer. Opens the files named on the command line; `--model MODEL` opens a model
// for whole-slide analysis and `--analyse` runs it on every file at once; `--screenshot FILE`
// saves the window once every visible tile is painted (and the analysis is done), then quits (for
// docs and smoke tests).
#include "Icons.h"
#include "MainWindow.h"
#include "OverviewWidget.h"
#include "PresentationMode.h"
#include "Presenter.h"
#include "ProjectDock.h"
#include "ProjectMenu.h"
#include "SlideView.h"
#include "TileService.h"
#include "VersionInfo.h"
#include "ViewAnnotations.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QDockWidget>
#include <QSettings>
#include <QTimer>

#include <cstring>
#include <iostream>

#include "model/AllocatorMode.h"
#include "version/Versions.h"

int main(int argc, char** argv) {
    // Tiles (256 KiB) freed by the decoder threads go back to the system at once instead of
    // fragmenting per-thread arenas: resident memory stays near the cache budget (PERFORMANCE.md);
    // analysis and training switch to tensor settings while they run (TensorWork).
    lucida::useTileAllocator();
    // Answered before QApplication exists, so that it works without a display (bug reports, CI).
    for (int i = 1; i < argc; ++i)
        if (std::strcmp(argv[i], "--version") == 0 || std::strcmp(argv[i], "-v") == 0) {
            std::cout << lucida::ui::viewerVersionReport(/*loadLibTorch=*/true);
            return 0;
        }
    QApplication app(argc, argv);
    QApplication::setOrganizationName("Lucida");
    QApplication::setApplicationName("Lucida");
    QApplication::setApplicationVersion(QString::fromStdString(lucida::lucidaVersion()));
    QApplication::setWindowIcon(lucida::ui::applicationIcon());
    QGuiApplication::setDesktopFileName("org.lucida.Lucida");

    QCommandLineParser parser;
    parser.setApplicationDescription(
        "Lucida: see what a neural network looked at in medical images.");
    parser.addHelpOption();
    parser.addOption(
        QCommandLineOption({"v", "version"},
                           "Print the version, the commit, the libraries' versions and the compute "
                           "device, then exit."));
    parser.addPositionalArgument("files", "Images, slides or DICOM folders to open.", "[files...]");
    QCommandLineOption cacheOption(
        "cache-mb", "Tile cache budget in MiB (default: saved setting or 512).", "MiB");
    QCommandLineOption shotOption("screenshot", "Save a screenshot to FILE once loaded, then quit.",
                                  "FILE");
    QCommandLineOption sizeOption("window-size", "Window size, e.g. 1600x1000.", "WxH");
    QCommandLineOption magOption("magnification",
                                 "Start at this magnification (slides with objective power).", "X");
    QCommandLineOption modelOption(
        "model", "Open MODEL for whole-slide analysis (TorchScript .pt or ResNet .pth).", "MODEL");
    QCommandLineOption analyseOption("analyse",
                                     "Analyse every opened slide with the --model at once.");
    QCommandLineOption annotationsOption(
        "annotations", "Import annotations (QuPath GeoJSON or ASAP XML) into each opened image.",
        "FILE");
    QCommandLineOption presentOption(
        "present", "Present the first opened image (F5) from its first bookmark, if it has one.");
    parser.addOptions({cacheOption, shotOption, sizeOption, magOption, modelOption, analyseOption,
                       annotationsOption});
    parser.addOption(presentOption);
    QCommandLineOption projectOption("project", "Open a cohort project (File ▸ Open Project).",
                                     "FILE");
    parser.addOption(projectOption);
    parser.process(app);

    QSettings settings;
    int cacheMiB = settings.value("cache/budgetMiB", 512).toInt();
    if (parser.isSet(cacheOption)) cacheMiB = parser.value(cacheOption).toInt();
    lucida::ui::TileService tiles(std::size_t(std::max(cacheMiB, 16)) << 20);
    lucida::ui::MainWindow window(&tiles);
    if (parser.isSet(sizeOption)) {
        const QStringList wh = parser.value(sizeOption).split('x');
        if (wh.size() == 2) window.resize(wh[0].toInt(), wh[1].toInt());
    }
    window.show();
    if (parser.isSet(modelOption)) {
        window.setAnalyseOnOpen(parser.isSet(analyseOption));
        window.openModel(parser.value(modelOption));
    }
    for (const QString& file : parser.positionalArguments()) window.openPath(file);
    if (parser.isSet(projectOption)) window.projectMenu()->open(parser.value(projectOption));

    if (parser.isSet(magOption)) {
        const double mag = parser.value(magOption).toDouble();
        QObject::connect(&window, &lucida::ui::MainWindow::documentOpened, &window,
                         [mag](lucida::ui::SlideView* v) {
                             QTimer::singleShot(50, v, [v, mag] { v->setMagnification(mag); });
                         });
    }
    if (parser.isSet(annotationsOption)) {
        const QString file = parser.value(annotationsOption);
        QObject::connect(&window, &lucida::ui::MainWindow::documentOpened, &window,
                         [file, &window](lucida::ui::SlideView* v) {
                             auto* annotations = lucida::ui::ViewAnnotations::of(v);
                             const QString error =
                                 annotations ? annotations->importFile(file) : QString();
                             if (!error.isEmpty()) qWarning("%s", qPrintable(error));
                             // As File ▸ Import Annotations does: the list comes to the front.
                             if (auto* dock = window.findChild<QDockWidget*>("annotationsDock"))
                                 dock->raise();
                         });
    }
    if (parser.isSet(presentOption))
        QObject::connect(
            &window, &lucida::ui::MainWindow::documentOpened, &window,
            [&window](lucida::ui::SlideView*) {
                auto* presenter = window.findChild<lucida::ui::Presenter*>();
                if (!presenter || presenter->presentation()->isActive()) return;
                presenter->presentation()->enter(window.currentView());
                presenter->presentation()->show(0, /*animate=*/false);
            },
            Qt::SingleShotConnection);
    if (parser.isSet(shotOption)) {
        const QString file = parser.value(shotOption);
        auto* poll = new QTimer(&window);
        int waited = 0;
        QObject::connect(poll, &QTimer::timeout, &window, [&window, file, poll, &waited] {
            waited += 100;
            auto* view = window.currentView();
            const bool ready =
                !window.isOpening() && !window.isAnalysisBusy() &&
                window.projectDock()->pendingScans() == 0 &&
                (!view || (view->isFullyLoaded() && window.overview()->hasThumbnail()));
            if (ready || waited > 300000) {  // an analysis may take minutes
                poll->stop();
                window.grab().save(file);
                QApplication::quit();
            }
        });
        poll->start(100);
    }
    return QApplication::exec();
}
