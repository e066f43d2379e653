#include "MainWindow.h"

#include "DicomControls.h"
#include "Icons.h"
#include "OverviewWidget.h"
#include "PropertiesPanel.h"
#include "RecentFiles.h"
#include "ResultsLocation.h"
#include "SlideView.h"
#include "TileService.h"
#include "VersionInfo.h"
#ifdef LUCIDA_WITH_TORCH
#include "AnalysisController.h"
#include "AnalysisPanel.h"
#include "HeatmapOverlay.h"
#include "ModelDescriptionDialog.h"
#include "TrainingWizard.h"
#include "model/Model.h"
#endif
#include "tiles/TileGrid.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QComboBox>
#include <QDir>
#include <QDockWidget>
#include <QDragEnterEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QInputDialog>
#include <QLabel>
#include <QLineEdit>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QSettings>
#include <QStackedWidget>
#include <QStatusBar>
#include <QTabWidget>
#include <QToolBar>

#include <algorithm>
#include <cmath>

namespace lucida::ui {

namespace {
constexpr double kMagnifications[] = {1.25, 2.5, 5, 10, 20, 40};
// Top regions zoom to at most the scan's own scale (1:1), or this with Shift.
constexpr double kRegionCloserScale = 2.0;
constexpr int kRecentModels = 8;

// "7.43×", "20×": three significant digits.
QString magnificationText(double magnification) {
    return QStringLiteral("%1×").arg(magnification, 0, 'g', 3);
}

QString fileFilter() {
    QStringList patterns;
    for (const std::string& e : imageFileExtensions())
        patterns << QStringLiteral("*.%1").arg(QString::fromStdString(e));
    return QObject::tr("Images (%1);;All files (*)").arg(patterns.join(' '));
}

// Lengths in the unit a pathologist (µm) or radiologist (mm) reads.
QString formatLength(double micrometres, LengthUnit unit) {
    if (unit == LengthUnit::Millimetre)
        return QStringLiteral("%1 mm").arg(micrometres / 1000.0, 0, 'f', 2);
    return QStringLiteral("%1 µm").arg(micrometres, 0, 'f', 1);
}
}  // namespace

MainWindow::MainWindow(TileService* tiles, QWidget* parent)
    : QMainWindow(parent), tiles_(tiles), recent_(new RecentFiles(this)) {
    setWindowTitle(tr("Lucida"));
    setWindowIcon(applicationIcon());
    setAcceptDrops(true);
    resize(1280, 800);

    centre_ = new QStackedWidget(this);
    auto* welcome =
        new QLabel(tr("<h2>Lucida</h2><p>Open a whole slide, a photo or a DICOM series:<br>"
                      "File ▸ Open (Ctrl+O), drop a file here, or pick a recent file.</p>"),
                   centre_);
    welcome->setAlignment(Qt::AlignCenter);
    tabs_ = new QTabWidget(centre_);
    tabs_->setTabsClosable(true);
    tabs_->setMovable(true);
    tabs_->setDocumentMode(true);
    centre_->addWidget(welcome);
    centre_->addWidget(tabs_);
    setCentralWidget(centre_);
    connect(tabs_, &QTabWidget::currentChanged, this, &MainWindow::currentTabChanged);
    connect(tabs_, &QTabWidget::tabCloseRequested, this, &MainWindow::closeTab);

    overview_ = new OverviewWidget(this);
    auto* overviewDock = new QDockWidget(tr("Overview"), this);
    overviewDock->setObjectName("overviewDock");
    overviewDock->setWidget(overview_);
    addDockWidget(Qt::RightDockWidgetArea, overviewDock);

    dicomControls_ = new DicomControls(this);
    dicomDock_ = new QDockWidget(tr("Slice & window"), this);
    dicomDock_->setObjectName("dicomDock");
    dicomDock_->setWidget(dicomControls_);
    dicomDock_->toggleViewAction()->setText(tr("Slice && &Window"));  // "&" is not a mnemonic
    addDockWidget(Qt::RightDockWidgetArea, dicomDock_);

    properties_ = new PropertiesPanel(this);
    auto* propertiesDock = new QDockWidget(tr("Properties"), this);
    propertiesDock->setObjectName("propertiesDock");
    propertiesDock->setWidget(properties_);
    addDockWidget(Qt::RightDockWidgetArea, propertiesDock);

#ifdef LUCIDA_WITH_TORCH
    analysisPanel_ = new AnalysisPanel(this);
    analysisDock_ = new QDockWidget(tr("Analysis"), this);
    analysisDock_->setObjectName("analysisDock");
    analysisDock_->setWidget(analysisPanel_);
    addDockWidget(Qt::RightDockWidgetArea, analysisDock_);
    tabifyDockWidget(propertiesDock, analysisDock_);
    analysisDock_->raise();
    connect(analysisPanel_, &AnalysisPanel::openModelRequested, this, &MainWindow::chooseModel);
    connect(analysisPanel_, &AnalysisPanel::modelChosen, this, &MainWindow::openModel);
    connect(analysisPanel_, &AnalysisPanel::describeModelRequested, this,
            &MainWindow::describeModel);
    connect(analysisPanel_, &AnalysisPanel::analyseRequested, this, &MainWindow::analyseCurrent);
    connect(analysisPanel_, &AnalysisPanel::displayChanged, this,
            &MainWindow::applyAnalysisDisplay);
    connect(analysisPanel_, &AnalysisPanel::regionActivated, this, &MainWindow::showRegion);
    // The model last used opens at once, off the GUI thread: ready by the time a slide is.
    if (const QString last = QSettings().value("analysis/lastModel").toString(); !last.isEmpty())
        loadModel(last, /*reportErrors=*/false);
    // The panel is tall: most of the column is its (until a saved layout says otherwise).
    resizeDocks({overviewDock, analysisDock_}, {200, 700}, Qt::Vertical);
    resizeDocks({analysisDock_}, {analysisPanel_->minimumWidth()}, Qt::Horizontal);
#endif

    positionLabel_ = new QLabel(this);
    positionLabel_->setObjectName("positionLabel");
    zoomLabel_ = new QLabel(this);
    zoomLabel_->setObjectName("zoomLabel");
    statusBar()->addWidget(positionLabel_, 1);
    statusBar()->addPermanentWidget(zoomLabel_);

    buildActions();
    overviewDock->toggleViewAction()->setShortcut(QKeySequence("Ctrl+Shift+V"));
    QSettings settings;
    restoreGeometry(settings.value("window/geometry").toByteArray());
    restoreState(settings.value("window/state").toByteArray());
    currentTabChanged();
}

MainWindow::~MainWindow() = default;

void MainWindow::buildActions() {
    QMenu* file = menuBar()->addMenu(tr("&File"));
    QAction* open =
        file->addAction(themedIcon("document-open"), tr("&Open…"), this, &MainWindow::chooseFile);
    open->setShortcut(QKeySequence::Open);
    QAction* openFolder =
        file->addAction(ownIcon("folder-dicom"), tr("Open DICOM &Folder…"),
                        QKeySequence("Ctrl+Shift+O"), this, &MainWindow::chooseFolder);
    seriesAction_ = file->addAction(tr("DICOM &Series…"), this, &MainWindow::chooseSeries);
    seriesAction_->setStatusTip(tr("Open another series of this DICOM folder or DICOMDIR"));
    seriesAction_->setEnabled(false);
    recentMenu_ = file->addMenu(tr("Open &Recent"));
    connect(recent_, &RecentFiles::changed, this, &MainWindow::rebuildRecentMenu);
    rebuildRecentMenu();
    file->addSeparator();
    file->addAction(tr("&Close Tab"), QKeySequence::Close, this,
                    [this] { closeTab(tabs_->currentIndex()); });
    file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);

    QMenu* edit = menuBar()->addMenu(tr("&Edit"));
    edit->addAction(tr("Tile &Cache Size…"), this, &MainWindow::setCacheBudget);

    QMenu* view = menuBar()->addMenu(tr("&View"));
    auto onView = [this](auto f) {
        return [this, f] {
            if (SlideView* v = currentView()) f(v);
        };
    };
    QAction* zoomIn = view->addAction(themedIcon("zoom-in"), tr("Zoom &In"), this,
                                      onView([](SlideView* v) { v->zoomBy(1.25); }));
    zoomIn->setShortcuts({QKeySequence::ZoomIn, QKeySequence("Ctrl+=")});
    QAction* zoomOut = view->addAction(themedIcon("zoom-out"), tr("Zoom &Out"), this,
                                       onView([](SlideView* v) { v->zoomBy(0.8); }));
    zoomOut->setShortcuts(QKeySequence::ZoomOut);
    QAction* fit = view->addAction(themedIcon("zoom-fit-best"), tr("&Fit to Window"), this,
                                   onView([](SlideView* v) { v->fitToWindow(); }));
    fit->setShortcuts({QKeySequence("Ctrl+0"), QKeySequence("F")});
    QAction* actual = view->addAction(themedIcon("zoom-original"), tr("&Actual Pixels (1:1)"), this,
                                      onView([](SlideView* v) { v->showActualPixels(); }));
    actual->setShortcut(QKeySequence("Ctrl+1"));
    QAction* rotate =
        view->addAction(themedIcon("object-rotate-right"), tr("&Rotate 90° Clockwise"), this,
                        onView([](SlideView* v) { v->rotateClockwise(); }));
    rotate->setShortcut(QKeySequence("R"));
    QMenu* mag = view->addMenu(tr("&Magnification"));
    int key = 1;
    for (double m : kMagnifications) {
        QAction* a = mag->addAction(QStringLiteral("%1×").arg(m), this,
                                    onView([m](SlideView* v) { v->setMagnification(m); }));
        a->setShortcut(QKeySequence(QStringLiteral("Alt+%1").arg(key++)));
    }
    // Slices at window level: Page Up/Down step through them wherever the focus is (a combo box
    // in a panel would otherwise take the key).
    QAction* previousSlice = view->addAction(
        tr("&Previous Slice"), this,
        onView([](SlideView* v) { v->document()->setSlice(v->document()->slice() - 1); }));
    previousSlice->setObjectName("previousSliceAction");
    previousSlice->setShortcut(QKeySequence(Qt::Key_PageUp));
    previousSlice->setShortcutContext(Qt::WindowShortcut);
    QAction* nextSlice = view->addAction(tr("&Next Slice"), this, onView([](SlideView* v) {
                                             v->document()->setSlice(v->document()->slice() + 1);
                                         }));
    nextSlice->setObjectName("nextSliceAction");
    nextSlice->setShortcut(QKeySequence(Qt::Key_PageDown));
    nextSlice->setShortcutContext(Qt::WindowShortcut);
    view->addSeparator();
    for (QDockWidget* dock : findChildren<QDockWidget*>())
        view->addAction(dock->toggleViewAction());
    QAction* full = view->addAction(tr("F&ull Screen"), this,
                                    [this] { isFullScreen() ? showNormal() : showFullScreen(); });
    full->setShortcut(QKeySequence::FullScreen);

    const QList<QAction*> analysisBar = buildAnalysisActions();
#ifdef LUCIDA_WITH_TORCH
    QMenu* tools = menuBar()->addMenu(tr("&Tools"));
    QAction* train = tools->addAction(tr("&Train a Model…"), QKeySequence("Ctrl+Shift+T"), this,
                                      &MainWindow::openTrainingWizard);
    train->setObjectName("trainModelAction");
    train->setStatusTip(tr("Train a classifier on a folder of images, one sub-folder per class"));
#endif

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(applicationIcon(), tr("&About Lucida"), this, &MainWindow::showAbout);

    QToolBar* bar = addToolBar(tr("View"));
    bar->setObjectName("viewToolbar");
    bar->addActions({open, openFolder});
    bar->addSeparator();
    bar->addActions({zoomOut, zoomIn, fit, actual, rotate});
    // Editable: it shows the magnification at any zoom (not only the presets) and takes one typed.
    magnification_ = new QComboBox(bar);
    magnification_->setObjectName("magnificationBox");
    magnification_->setEditable(true);
    magnification_->setInsertPolicy(QComboBox::NoInsert);
    magnification_->lineEdit()->setPlaceholderText(tr("Magnification"));
    magnification_->setMinimumContentsLength(6);
    magnification_->setToolTip(tr("Magnification (objective-equivalent): choose or type one"));
    for (double m : kMagnifications) magnification_->addItem(QStringLiteral("%1×").arg(m), m);
    connect(magnification_, &QComboBox::activated, this, [this](int i) {
        if (SlideView* v = currentView())
            v->setMagnification(magnification_->itemData(i).toDouble());
    });
    connect(magnification_->lineEdit(), &QLineEdit::returnPressed, this, [this] {
        QString text = magnification_->currentText().trimmed();
        text.remove(QChar(u'×')).remove('x').remove('X');
        bool ok = false;
        const double m = text.trimmed().toDouble(&ok);
        SlideView* v = currentView();
        if (v && ok && m > 0) v->setMagnification(m);
        updateStatus();  // the magnification now shown (or back to it after nonsense)
    });
    bar->addWidget(magnification_);

    if (!analysisBar.isEmpty()) {
        QToolBar* analysis = addToolBar(tr("Analysis"));
        analysis->setObjectName("analysisToolbar");
        analysis->addActions(analysisBar);
    }
}

void MainWindow::showAbout() {
    QStringList formats;
    for (const std::string& f : imageFormatNames()) formats << QString::fromStdString(f);
    QMessageBox box(this);
    box.setWindowTitle(tr("About Lucida"));
    box.setIconPixmap(applicationIcon().pixmap(96, 96));
    box.setTextFormat(Qt::RichText);
    box.setText(tr("<b>Lucida</b> shows what a neural network looked at in medical images.<p>"
                   "Formats: %1.<p>Mouse: drag to pan, wheel to zoom at the cursor, "
                   "Ctrl+wheel for slices, right-drag for window/level.")
                    .arg(formats.join(", ")));
    // Plain text the user can select and paste into a bug report.
    box.setInformativeText(QStringLiteral("<pre>%1</pre>")
                               .arg(QString::fromStdString(viewerVersionReport()).toHtmlEscaped()));
    box.setTextInteractionFlags(Qt::TextSelectableByMouse);
    box.setObjectName("aboutBox");
    box.exec();
}

void MainWindow::rebuildRecentMenu() {
    recentMenu_->clear();
    const QStringList files = recent_->files();
    for (int i = 0; i < files.size(); ++i) {
        const QString path = files[i];
        QAction* a = recentMenu_->addAction(
            QStringLiteral("&%1 %2").arg(i + 1).arg(QFileInfo(path).fileName()), this,
            [this, path] { openPath(path); });
        a->setToolTip(path);
        a->setStatusTip(path);
    }
    if (!files.isEmpty()) {
        recentMenu_->addSeparator();
        recentMenu_->addAction(tr("Clear Menu"), recent_, &RecentFiles::clear);
    }
    recentMenu_->setEnabled(!files.isEmpty());
}

void MainWindow::chooseFile() {
    QSettings settings;
    const QStringList paths = QFileDialog::getOpenFileNames(
        this, tr("Open Image"), settings.value("lastDir").toString(), fileFilter());
    if (paths.isEmpty()) return;
    settings.setValue("lastDir", QFileInfo(paths.first()).absolutePath());
    for (const QString& p : paths) openPath(p);
}

void MainWindow::chooseFolder() {
    QSettings settings;
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Open DICOM Series Folder"),
                                                          settings.value("lastDir").toString());
    if (dir.isEmpty()) return;
    settings.setValue("lastDir", dir);
    openPath(dir);
}

void MainWindow::setCacheBudget() {
    bool ok = false;
    const int current = static_cast<int>(tiles_->cache().budget() >> 20);
    const int mib =
        QInputDialog::getInt(this, tr("Tile Cache Size"), tr("Memory for decoded tiles (MiB):"),
                             current, 64, 65536, 64, &ok);
    if (!ok) return;
    tiles_->cache().setBudget(std::size_t(mib) << 20);
    QSettings().setValue("cache/budgetMiB", mib);
}

void MainWindow::openTrainingWizard() {
#ifdef LUCIDA_WITH_TORCH
    if (!trainingWizard_) {
        trainingWizard_ = new TrainingWizard(this);
        trainingWizard_->setAttribute(Qt::WA_DeleteOnClose);
        // "Open the Model in the Viewer": the viewer switches to it (panel, heat, recent list).
        connect(trainingWizard_, &TrainingWizard::modelTrained, this, [this](const QString& path) {
            openModel(path);
            statusBar()->showMessage(tr("Trained model: %1").arg(QDir::toNativeSeparators(path)));
        });
    }
    trainingWizard_->show();
    trainingWizard_->raise();
    trainingWizard_->activateWindow();
#endif
}

// ---- Whole-slide analysis ---------------------------------------------------------------------

#ifdef LUCIDA_WITH_TORCH

QList<QAction*> MainWindow::buildAnalysisActions() {
    QMenu* menu = menuBar()->addMenu(tr("&Analysis"));
    QAction* open = menu->addAction(ownIcon("model-open"), tr("Open &Model…"),
                                    QKeySequence("Ctrl+M"), this, &MainWindow::chooseModel);
    open->setObjectName("openModelAction");
    QAction* analyse =
        menu->addAction(ownIcon("analyse-slide"), tr("&Analyse Slide"),
                        QKeySequence("Ctrl+Shift+A"), this, &MainWindow::analyseCurrent);
    analyse->setObjectName("analyseSlideAction");
    analyse->setStatusTip(tr("Run the model over every tissue patch of the slide"));
    liveAction_ = menu->addAction(ownIcon("live-heatmap"), tr("&Live Heatmap While Panning"));
    liveAction_->setObjectName("liveHeatmapAction");
    liveAction_->setShortcut(QKeySequence("Ctrl+L"));
    liveAction_->setCheckable(true);
    liveAction_->setChecked(QSettings().value("analysis/live", true).toBool());
    liveAction_->setStatusTip(
        tr("With a model open, analyse the patches on screen as you pan and zoom"));
    connect(liveAction_, &QAction::toggled, this, [this](bool on) {
        QSettings().setValue("analysis/live", on);
        for (AnalysisController* c : analysisControllers()) c->setLive(on);
    });
    QAction* beside = menu->addAction(tr("Keep Results &Beside the Image"));
    beside->setObjectName("resultsBesideImageAction");
    beside->setCheckable(true);
    beside->setChecked(savedResultsPlace() == ResultsPlace::BesideImage);
    beside->setStatusTip(
        tr("Keep analysis results in <image>.lucida/ next to the image instead "
           "of your own results store (never in folders that cannot be written)"));
    connect(beside, &QAction::toggled, this, [this](bool on) {
        saveResultsPlace(on ? ResultsPlace::BesideImage : ResultsPlace::UserStore);
        for (AnalysisController* c : analysisControllers()) c->resultsPlaceChanged();
    });
    menu->addSeparator();
    heatmapAction_ = menu->addAction(ownIcon("heatmap"), tr("Show &Heatmap"));
    heatmapAction_->setObjectName("showHeatmapAction");
    heatmapAction_->setShortcut(QKeySequence("H"));
    heatmapAction_->setCheckable(true);
    heatmapAction_->setChecked(true);
    outlineAction_ = menu->addAction(tr("Show &Tissue Outline"));
    outlineAction_->setObjectName("showTissueOutlineAction");
    outlineAction_->setShortcut(QKeySequence("T"));
    outlineAction_->setCheckable(true);
    connect(heatmapAction_, &QAction::toggled, this, &MainWindow::applyAnalysisDisplay);
    connect(outlineAction_, &QAction::toggled, this, &MainWindow::applyAnalysisDisplay);
    menu->addSeparator();
    menu->addAction(analysisDock_->toggleViewAction());
    return {open, analyse, liveAction_, heatmapAction_};
}

AnalysisController* MainWindow::analysisController(const SlideView* view) const {
    return AnalysisController::of(view);
}

QList<AnalysisController*> MainWindow::analysisControllers() const {
    QList<AnalysisController*> controllers;
    for (int i = 0; i < tabs_->count(); ++i)
        if (auto* c = analysisController(qobject_cast<SlideView*>(tabs_->widget(i))))
            controllers << c;
    return controllers;
}

bool MainWindow::isAnalysisBusy() const {
    if (modelLoading_) return true;
    const auto controllers = analysisControllers();
    return std::any_of(controllers.begin(), controllers.end(),
                       [](const AnalysisController* c) { return c->isBusy(); });
}

void MainWindow::attachAnalysis(SlideView* view) {
    auto* controller = new AnalysisController(view);
    controller->setLive(liveAction_->isChecked());
    controller->setMethod(analysisPanel_->method());
    controller->setFit(analysisPanel_->fit());
    controller->setOverlap(analysisPanel_->overlap());
    controller->setNormalisation(analysisPanel_->normalisation());
    analysisPanel_->applyDisplay(controller->overlay());
    controller->overlay()->setHeatmapVisible(heatmapAction_->isChecked());
    controller->overlay()->setOutlineVisible(outlineAction_->isChecked());
    connect(controller, &AnalysisController::failed, this, [this, view](const QString& message) {
        showError(tr("Cannot analyse %1").arg(view->document()->displayName()), message);
    });
    if (model_) {
        controller->setModel(model_);
        if (analyseOnOpen_) controller->start();
    }
}

void MainWindow::applyAnalysisDisplay() {
    for (AnalysisController* c : analysisControllers()) {
        analysisPanel_->applyDisplay(c->overlay());
        c->overlay()->setHeatmapVisible(heatmapAction_->isChecked());
        c->overlay()->setOutlineVisible(outlineAction_->isChecked());
        c->setNormalisation(analysisPanel_->normalisation());
    }
}

void MainWindow::chooseModel() {
    QSettings settings;
    const QString start = settings.value("analysis/lastModel").toString();
    const QString path = QFileDialog::getOpenFileName(
        this, tr("Open Model"), start.isEmpty() ? settings.value("lastDir").toString() : start,
        tr("Models (*.pt *.pth *.ts *.torchscript);;All files (*)"));
    if (path.isEmpty()) {
        analysePending_ = false;
        return;
    }
    openModel(path);
}

void MainWindow::openModel(const QString& path) { loadModel(path, /*reportErrors=*/true); }

void MainWindow::describeModel() {
    if (!model_) return;
    ModelDescriptionDialog dialog(model_, this);
    if (dialog.exec() != QDialog::Accepted) return;
    statusBar()->showMessage(tr("Model description saved in %1").arg(dialog.sidecarPath()), 5000);
    // Opened again with its new description; results under the old one are not reused (the
    // analysis key includes the sidecar).
    openModel(QString::fromStdString(model_->path()));
}

void MainWindow::loadModel(const QString& path, bool reportErrors) {
    const int request = ++modelRequest_;
    modelLoading_ = true;
    modelPath_ = path;
    // The old model goes at once: its heat, classes and score never show under the new name
    // (an analysis that was asked for runs again once the new model is there).
    model_.reset();
    for (AnalysisController* c : analysisControllers()) c->setModel(nullptr);
    analysisPanel_->setModelState(path, nullptr);
    if (!reportErrors && !QFileInfo::exists(path)) {  // a remembered model that is gone
        modelLoading_ = false;
        analysisPanel_->setModelState(path, nullptr, tr("no such file"));
        emit modelFailed(tr("%1: no such file").arg(path));
        return;
    }
    statusBar()->showMessage(tr("Opening model %1…").arg(path));
    const bool loud = reportErrors;  // a dialog when it fails
    auto* watcher = new QFutureWatcher<ModelLoad>(this);
    connect(watcher, &QFutureWatcher<ModelLoad>::finished, this, [this, watcher, request, loud] {
        watcher->deleteLater();
        if (request != modelRequest_) return;  // another model was asked for since
        modelLoading_ = false;
        const ModelLoad load = watcher->result();
        statusBar()->clearMessage();
        if (!load.model) {
            analysePending_ = false;
            analysisPanel_->setModelState(load.path, nullptr, load.error);
            if (loud)
                showError(tr("Cannot open model"), load.error);
            else
                statusBar()->showMessage(tr("Cannot open the last model: %1").arg(load.error));
            emit modelFailed(load.error);
            return;
        }
        model_ = load.model;
        QSettings settings;
        settings.setValue("analysis/lastModel", load.path);
        QStringList recent = settings.value("analysis/recentModels").toStringList();
        recent.removeAll(load.path);
        recent.prepend(load.path);
        while (recent.size() > kRecentModels) recent.removeLast();
        settings.setValue("analysis/recentModels", recent);
        for (AnalysisController* c : analysisControllers()) c->setModel(model_);
        analysisPanel_->setRecentModels(recent);
        analysisPanel_->setModelState(load.path, model_.get());
        emit modelOpened(load.path);
        if (analyseOnOpen_) {
            for (AnalysisController* c : analysisControllers()) c->start();
        } else if (analysePending_) {
            analysePending_ = false;
            analyseCurrent();
        }
    });
    watcher->setFuture(AnalysisController::openModelAsync(path));
}

void MainWindow::analyseCurrent() {
    SlideView* view = currentView();
    if (!view) {
        statusBar()->showMessage(tr("Open a slide to analyse it."), 5000);
        return;
    }
    analysisDock_->show();
    analysisDock_->raise();
    if (!model_) {
        analysePending_ = true;
        if (modelLoading_) return;
        const QString path = analysisPanel_->selectedModelPath();
        if (!path.isEmpty() && QFileInfo::exists(path))
            openModel(path);
        else
            chooseModel();
        return;
    }
    if (AnalysisController* c = analysisController(view)) c->start();
}

void MainWindow::showRegion(const QRectF& region, bool closer) {
    SlideView* view = currentView();
    if (!view || region.isEmpty()) return;
    // The region with about as much again around it on each side, but never beyond what the image
    // holds: the scan's magnification (1:1), or twice that when asked (Shift), for a slide that
    // says its objective power; no more than 1:1 for other images.
    const double maxScale =
        closer && view->document()->info().objectivePower ? kRegionCloserScale : 1.0;
    const double scale = std::min(maxScale, std::min(view->width(), view->height()) /
                                                (3.0 * std::max(region.width(), region.height())));
    view->setScale(scale);
    view->setCentre(region.center().x(), region.center().y());
}

#else  // no LibTorch: no models to run

QList<QAction*> MainWindow::buildAnalysisActions() { return {}; }
AnalysisController* MainWindow::analysisController(const SlideView*) const { return nullptr; }
QList<AnalysisController*> MainWindow::analysisControllers() const { return {}; }
bool MainWindow::isAnalysisBusy() const { return false; }
void MainWindow::attachAnalysis(SlideView*) {}
void MainWindow::applyAnalysisDisplay() {}
void MainWindow::chooseModel() {}
void MainWindow::describeModel() {}
void MainWindow::analyseCurrent() {}
void MainWindow::showRegion(const QRectF&, bool) {}
void MainWindow::loadModel(const QString& path, bool) { openModel(path); }
void MainWindow::openModel(const QString& path) {
    const QString message =
        tr("%1: this build of Lucida has no LibTorch, so it cannot run models.").arg(path);
    showError(tr("Cannot open model"), message);
    emit modelFailed(message);
}

#endif

void MainWindow::openPath(const QString& path) {
    ++pendingOpens_;
    statusBar()->showMessage(tr("Opening %1…").arg(path));
    auto* watcher = new QFutureWatcher<OpenResult>(this);
    connect(watcher, &QFutureWatcher<OpenResult>::finished, this, [this, watcher] {
        --pendingOpens_;
        showOpened(watcher->result());
        watcher->deleteLater();
    });
    watcher->setFuture(openImageAsync(path));
}

void MainWindow::openSeries(const QString& path, const QString& seriesUid) {
    ++pendingOpens_;
    statusBar()->showMessage(tr("Opening series %1 of %2…").arg(seriesUid, path));
    auto* watcher = new QFutureWatcher<OpenResult>(this);
    connect(watcher, &QFutureWatcher<OpenResult>::finished, this, [this, watcher] {
        --pendingOpens_;
        showOpened(watcher->result());
        watcher->deleteLater();
    });
    watcher->setFuture(openImageAsync(path, seriesUid));
}

void MainWindow::chooseSeries() {
    SlideView* view = currentView();
    if (!view) return;
    const QList<SeriesOffer> offers = dicomSeriesOf(view->document()->info());
    if (offers.size() < 2) return;
    QStringList labels;
    int current = 0;
    for (int i = 0; i < offers.size(); ++i) {
        labels << offers[i].label;
        if (offers[i].shown) current = i;
    }
    bool ok = false;
    const QString chosen = QInputDialog::getItem(this, tr("DICOM Series"),
                                                 tr("Series of %1:").arg(view->document()->path()),
                                                 labels, current, false, &ok);
    if (!ok) return;
    const int i = int(labels.indexOf(chosen));
    if (i >= 0) openSeries(view->document()->path(), offers[i].uid);
}

void MainWindow::showOpened(const OpenResult& result) {
    statusBar()->clearMessage();
    if (!result.source) {
        recent_->remove(result.path);
        showError(tr("Cannot open image"), result.error);
        emit openFailed(result.error);
        return;
    }
    auto* document = new ImageDocument(result.source);
    auto* view = new SlideView(document, tiles_);
    document->setParent(view);
    connect(view, &SlideView::tileError, this,
            [this](const QString& m) { showError(tr("Cannot read image data"), m); });
    attachAnalysis(view);
    const int index = tabs_->addTab(view, document->displayName());
    tabs_->setTabToolTip(index, document->path());
    tabs_->setCurrentIndex(index);
    recent_->add(result.path);
    if (const auto n = dicomSeriesOf(document->info()).size(); n > 1)
        statusBar()->showMessage(
            tr("%1 series here, the largest shown: File ▸ DICOM Series… opens another").arg(n),
            15000);
    emit documentOpened(view);
}

void MainWindow::showError(const QString& title, const QString& message) {
    lastError_ = message;
    // Window-modal and non-blocking: the error is read, the application keeps running.
    auto* box = new QMessageBox(QMessageBox::Critical, title, message, QMessageBox::Ok, this);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open();
}

SlideView* MainWindow::currentView() const {
    return qobject_cast<SlideView*>(tabs_->currentWidget());
}

int MainWindow::documentCount() const { return tabs_->count(); }

void MainWindow::closeTab(int index) {
    if (index < 0) return;
    QWidget* w = tabs_->widget(index);
    tabs_->removeTab(index);
    if (auto* view = qobject_cast<SlideView*>(w)) {
        const std::uint64_t id = view->document()->source()->id();
        delete view;
        tiles_->cache().removeSource(id);  // its tiles are of no use to anyone now
    }
}

void MainWindow::currentTabChanged() {
    for (const auto& c : viewConnections_) disconnect(c);
    viewConnections_.clear();
    positionLabel_->clear();  // the last tab's position (its units) says nothing about this one
    SlideView* view = currentView();
    centre_->setCurrentIndex(view ? 1 : 0);
    overview_->setView(view);
    properties_->setDocument(view ? view->document() : nullptr);
    dicomControls_->setDocument(view ? view->document() : nullptr);
#ifdef LUCIDA_WITH_TORCH
    analysisPanel_->setController(analysisController(view));
#endif
    const bool dicomish =
        view && (view->document()->isGray() || view->document()->info().sliceCount > 1);
    dicomDock_->setVisible(dicomish);
    magnification_->setEnabled(view && view->document()->info().objectivePower.has_value());
    seriesAction_->setEnabled(view && dicomSeriesOf(view->document()->info()).size() > 1);
    setWindowTitle(view ? tr("%1 — Lucida").arg(view->document()->displayName()) : tr("Lucida"));
    if (view) {
        viewConnections_ << connect(view, &SlideView::viewChanged, this, &MainWindow::updateStatus);
        viewConnections_ << connect(
            view, &SlideView::cursorMoved, this, [this, view](QPointF p, bool inside) {
                if (!inside) {
                    positionLabel_->clear();
                    return;
                }
                const ImageInfo& info = view->document()->info();
                QString text = tr("x %1, y %2 px").arg(qint64(p.x())).arg(qint64(p.y()));
                if (info.mppX)
                    text += QStringLiteral("  |  %1, %2")
                                .arg(formatLength(p.x() * *info.mppX, info.displayUnit),
                                     formatLength(p.y() * info.mppY.value_or(*info.mppX),
                                                  info.displayUnit));
                positionLabel_->setText(text);
            });
    }
    updateStatus();
}

void MainWindow::updateStatus() {
    SlideView* view = currentView();
    if (!view) {
        zoomLabel_->clear();
        return;
    }
    int preset = -1;
    if (const auto mag = view->magnification())
        for (int i = 0; i < magnification_->count(); ++i)
            if (std::abs(magnification_->itemData(i).toDouble() - *mag) < 0.01 * *mag) preset = i;
    {
        const QSignalBlocker block(magnification_);
        magnification_->setCurrentIndex(preset);
        if (preset < 0) {
            const auto mag = view->magnification();
            magnification_->setEditText(mag ? magnificationText(*mag) : QString());
        }
    }
    QString text;
    if (const auto mag = view->magnification())
        text = tr("%1×").arg(*mag, 0, 'f', *mag < 10 ? 2 : 1);
    else
        text = tr("Zoom %1%").arg(view->viewGeometry().scale * 100, 0, 'f', 0);
    const ImageInfo& info = view->document()->info();
    text += tr("  (level %1)")
                .arg(bestLevelForDownsample(info.levels, 1.0 / view->viewGeometry().scale));
    zoomLabel_->setText(text);
}

void MainWindow::dragEnterEvent(QDragEnterEvent* e) {
    if (e->mimeData()->hasUrls()) e->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* e) {
    for (const QUrl& url : e->mimeData()->urls())
        if (url.isLocalFile()) openPath(url.toLocalFile());
    e->acceptProposedAction();
}

void MainWindow::closeEvent(QCloseEvent* e) {
#ifdef LUCIDA_WITH_TORCH
    if (trainingWizard_ && !trainingWizard_->stopTrainingForQuit()) {
        e->ignore();
        return;
    }
#endif
    QSettings settings;
    settings.setValue("window/geometry", saveGeometry());
    settings.setValue("window/state", saveState());
    e->accept();
}

}  // namespace lucida::ui
