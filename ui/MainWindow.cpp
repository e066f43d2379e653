#include "MainWindow.h"
#include "AnnotationDocument.h"
#include "AnnotationTools.h"
#include "AnnotationsDock.h"

#include "BookmarksDock.h"
#include "DicomControls.h"
#include "EditUndo.h"
#include "FigureContextOf.h"
#include "Icons.h"
#include "ModelSession.h"
#include "ModelTools.h"
#include "OverviewWidget.h"
#include "PatientDetails.h"
#include "Presenter.h"
#include "ProjectDock.h"
#include "ProjectMenu.h"
#include "ProjectViews.h"
#include "PropertiesPanel.h"
#include "RecentFiles.h"
#include "ResultsLocation.h"
#include "SlideView.h"
#include "SplitActions.h"
#include "TileService.h"
#include "VersionInfo.h"
#include "ViewAnnotations.h"
#include "tiles/TileGrid.h"

#include <QAction>
#include <QActionGroup>
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
#include <QtConcurrent>

#include <algorithm>
#include <cmath>

namespace lucida::ui {

namespace {

// Bumped when the docks change place: a layout saved by an older version is not restored
// (version 1: the Annotations dock is a tab beside Properties and Analysis).
constexpr int kDockLayoutVersion = 1;
constexpr double kMagnifications[] = {1.25, 2.5, 5, 10, 20, 40};

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

    annotationsDock_ = new AnnotationsDock(this);
    annotationsDock_->setObjectName("annotationsDock");
    addDockWidget(Qt::RightDockWidgetArea, annotationsDock_);
    // A tab beside Properties (and Analysis): three stacked docks need more height than a
    // laptop screen has, and the window would grow past the screen to fit them.
    tabifyDockWidget(propertiesDock, annotationsDock_);

    modelTools_ = ModelTools::create(this, tabs_);
    modelTools_->addDocks(overviewDock, propertiesDock);
    connect(modelTools_, &ModelTools::modelOpened, this, &MainWindow::modelOpened);
    connect(modelTools_, &ModelTools::modelFailed, this, &MainWindow::modelFailed);
    connect(modelTools_, &ModelTools::errorOccurred, this, &MainWindow::showError);

    // Bookmarks (a tab beside Annotations) and presentation mode.
    presenter_ = new Presenter(this, tabs_, modelTools_->session());
    addDockWidget(Qt::RightDockWidgetArea, presenter_->dock());
    tabifyDockWidget(annotationsDock_, presenter_->dock());
    connect(presenter_, &Presenter::errorOccurred, this, &MainWindow::showError);
    connect(this, &MainWindow::documentOpened, presenter_, &Presenter::attach);
    propertiesDock->raise();  // the last tab added would be in front: an empty Bookmarks list

    // Cohort projects (ui/cohort): the Project dock, whose queue gives way to the viewer's
    // analysis; an image opened from a project with its own results folder keeps results there.
    projectDock_ = new ProjectDock(modelTools_->session(), this);
    addDockWidget(Qt::LeftDockWidgetArea, projectDock_);
    projectDock_->hide();
    projectDock_->setViewerBusy([this] { return modelTools_->isBusy(); });
    projectMenu_ = new ProjectMenu(projectDock_, this);
    connect(projectDock_, &ProjectDock::openImageRequested, this, &MainWindow::openProjectImage);
    // A project's image analyses with the project's results folder and its own settings.
    auto* projectViews = new ProjectViews(projectDock_, modelTools_, this);
    connect(this, &MainWindow::documentOpened, projectViews, &ProjectViews::attach);

    positionLabel_ = new QLabel(this);
    positionLabel_->setObjectName("positionLabel");
    zoomLabel_ = new QLabel(this);
    zoomLabel_->setObjectName("zoomLabel");
    statusBar()->addWidget(positionLabel_, 1);
    statusBar()->addPermanentWidget(zoomLabel_);

    buildActions();
    projectMenu_->addTo(menuBar()->actions().constFirst()->menu());  // File ▸ New/Open Project
    overviewDock->toggleViewAction()->setShortcut(QKeySequence("Ctrl+Shift+V"));
    QSettings settings;
    restoreGeometry(settings.value("window/geometry").toByteArray());
    restoreState(settings.value("window/state").toByteArray(), kDockLayoutVersion);
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
    file->addAction(tr("&Import Annotations…"), QKeySequence("Ctrl+I"), this,
                    &MainWindow::chooseAnnotationsToImport);
    file->addAction(tr("E&xport Annotations…"), QKeySequence("Ctrl+Shift+E"), this,
                    &MainWindow::chooseAnnotationsExport);
    QAction* exportFigure = file->addAction(
        tr("Export &Figure…"), QKeySequence("Ctrl+E"), this,
        [this] { openExportFigureDialog(this, currentView(), tiles_, modelTools_->session()); });
    exportFigure->setObjectName("exportFigureAction");
    file->addAction(tr("Export &Report…"), this,
                    [this] { modelTools_->exportReport(currentView()); });
    file->addSeparator();
    file->addAction(tr("&Close Tab"), QKeySequence::Close, this,
                    [this] { closeTab(tabs_->currentIndex()); });
    file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);

    QMenu* edit = menuBar()->addMenu(tr("&Edit"));
    edit->addAction(tr("Tile &Cache Size…"), this, &MainWindow::setCacheBudget);
    // Undo / Redo for the annotations and the bookmarks, whichever changed last or has the focus.
    editUndo_ = new EditUndo(edit, presenter_->dock()->undoStack(), presenter_->dock(), this);

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
    view->addAction(createPatientDetailsAction(this));  // DICOM patient text: off unless ticked
    for (QDockWidget* dock : findChildren<QDockWidget*>())
        view->addAction(dock->toggleViewAction());
    QAction* full = view->addAction(tr("F&ull Screen"), this,
                                    [this] { isFullScreen() ? showNormal() : showFullScreen(); });
    full->setShortcut(QKeySequence::FullScreen);
    presenter_->addActions(view);  // Add Bookmark (Ctrl+B), Present (F5)
    // View ▸ Split: the image in 1, 2 or 4 linked panes, each with its own heat (ui/split).
    split_ = new SplitActions(
        tabs_, modelTools_->session(),
        [this](SlideView* pane, ModelSession* session) { modelTools_->attachPane(pane, session); },
        this);
    split_->addTo(view);
    connect(this, &MainWindow::documentOpened, split_, &SplitActions::applySaved);

    // Annotation tools act on the current image's annotations (QuPath's keys where free).
    annotationTools_ = createAnnotationToolActions(this, [this]() -> AnnotationTools* {
        auto* annotations = ViewAnnotations::of(currentView());
        return annotations ? annotations->tools() : nullptr;
    });
    // Choosing a tool shows the list the new annotations go into.
    connect(annotationTools_, &QActionGroup::triggered, this, [this](QAction* tool) {
        if (tool->isChecked()) annotationsDock_->raise();
    });
    QMenu* annotate = menuBar()->addMenu(tr("&Annotate"));
    annotate->addActions(annotationTools_->actions());
    annotate->addSeparator();
    // The view takes Ctrl+D itself when it has the focus; the menu item says it exists.
    QAction* duplicate = annotate->addAction(tr("&Duplicate Selection"), this, [this] {
        if (auto* annotations = ViewAnnotations::of(currentView()))
            annotations->tools()->duplicateSelection();
    });
    duplicate->setShortcut(QKeySequence("Ctrl+D"));
    duplicate->setShortcutContext(Qt::WidgetShortcut);  // shown in the menu, no clash with the view

    const QList<QAction*> analysisBar = modelTools_->addMenus();  // Analysis, Tools

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(applicationIcon(), tr("&About Lucida"), this, &MainWindow::showAbout);

    QToolBar* bar = addToolBar(tr("View"));
    bar->setObjectName("viewToolbar");
    bar->addActions({open, openFolder});
    bar->addSeparator();
    bar->addActions({zoomOut, zoomIn, fit, actual, rotate});
    buildMagnificationBox(bar);
    bar->addWidget(magnification_);

    QToolBar* annotateBar = addToolBar(tr("Annotate"));
    annotateBar->setObjectName("annotateToolbar");
    annotateBar->addActions(annotationTools_->actions());

    if (!analysisBar.isEmpty()) {
        QToolBar* analysis = addToolBar(tr("Analysis"));
        analysis->setObjectName("analysisToolbar");
        analysis->addActions(analysisBar);
    }
}

// Editable: it shows the magnification at any zoom (not only the presets) and takes one typed.
void MainWindow::buildMagnificationBox(QToolBar* bar) {
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

// ---- Models: analysis and training (ModelTools) ------------------------------------------------

void MainWindow::openModel(const QString& path) { modelTools_->openModel(path); }
void MainWindow::analyseCurrent() { modelTools_->analyseCurrent(); }
void MainWindow::setAnalyseOnOpen(bool analyse) { modelTools_->setAnalyseOnOpen(analyse); }
QString MainWindow::modelPath() const { return modelTools_->session()->path(); }
bool MainWindow::hasModel() const { return bool(modelTools_->session()->model()); }
bool MainWindow::isAnalysisBusy() const { return modelTools_->isBusy(); }
AnalysisPanel* MainWindow::analysisPanel() const { return modelTools_->panel(); }
AnalysisController* MainWindow::analysisController(const SlideView* view) const {
    return modelTools_->controller(view);
}

void MainWindow::openPath(const QString& path) {
    openAsync(tr("Opening %1…").arg(path), openImageAsync(path));
}

// Every open runs off the GUI thread; the window shows the result (or the error) when it is done.
void MainWindow::openAsync(const QString& message, const QFuture<OpenResult>& future) {
    ++pendingOpens_;
    statusBar()->showMessage(message);
    auto* watcher = new QFutureWatcher<OpenResult>(this);
    connect(watcher, &QFutureWatcher<OpenResult>::finished, this, [this, watcher] {
        --pendingOpens_;
        showOpened(watcher->result());
        watcher->deleteLater();
    });
    watcher->setFuture(future);
}

void MainWindow::openProjectImage(const QString& path, const ImageSettings& own) {
    openAsync(tr("Opening %1…").arg(path), QtConcurrent::run([path, own] {
                  OpenResult result{path, nullptr, {}};
                  try {
                      result.source = lucida::ui::openProjectImage(path, own);
                  } catch (const std::exception& e) {
                      result.error = QString::fromUtf8(e.what());
                  }
                  return result;
              }));
}

void MainWindow::openSeries(const QString& path, const QString& seriesUid) {
    openAsync(tr("Opening series %1 of %2…").arg(seriesUid, path), openImageAsync(path, seriesUid));
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
    modelTools_->attach(view);
    // Annotations load from and autosave to the image's results folder (ResultsLocation).
    const QString path = document->path();
    auto* annotations = new ViewAnnotations(
        view, annotationFilePath(resultsRootFor(path, savedResultsPlace()), path));
    if (!annotations->loadError().isEmpty())
        showError(tr("Cannot read the annotations"), annotations->loadError());
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
    return SplitView::viewIn(tabs_->currentWidget());  // a split tab: its first pane
}

int MainWindow::documentCount() const { return tabs_->count(); }

void MainWindow::closeTab(int index) {
    if (index < 0) return;
    QWidget* w = tabs_->widget(index);
    tabs_->removeTab(index);
    if (auto* view = SplitView::viewIn(w)) {
        const std::uint64_t id = view->document()->source()->id();
        // The view, or its split with the other panes.
        delete w;
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
    modelTools_->setCurrentView(view);
    presenter_->setCurrentView(view);
    {
        auto* annotations = ViewAnnotations::of(view);
        annotationsDock_->setDocument(annotations ? annotations->document() : nullptr, view);
        editUndo_->setAnnotations(annotations ? annotations->document()->undoStack() : nullptr,
                                  view);
        // The tool buttons show the new view's tool (none: it pans).
        for (QAction* a : annotationTools_->actions()) {
            const QSignalBlocker block(a);
            a->setChecked(annotations && int(annotations->tools()->tool()) == a->data().toInt());
        }
    }
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
    for (const QUrl& url : e->mimeData()->urls()) {
        if (!url.isLocalFile()) continue;
        const QString path = url.toLocalFile();
        // A GeoJSON or ASAP XML file dropped on an open image adds to its annotations.
        if (ViewAnnotations::isAnnotationFile(path) && currentView())
            importAnnotations(path);
        else
            openPath(path);
    }
    e->acceptProposedAction();
}

void MainWindow::importAnnotations(const QString& path) {
    auto* annotations = ViewAnnotations::of(currentView());
    if (!annotations) return;
    QStringList notes;
    const QString error = annotations->importFile(path, &notes);
    if (!error.isEmpty()) {
        showError(tr("Cannot import annotations"), error);
        return;
    }
    annotationsDock_->raise();
    statusBar()->showMessage(
        notes.isEmpty() ? tr("Annotations imported from %1").arg(QFileInfo(path).fileName())
                        : tr("Annotations imported from %1: %2")
                              .arg(QFileInfo(path).fileName(), notes.join(QStringLiteral("; "))),
        15000);
}

void MainWindow::chooseAnnotationsToImport() {
    if (!currentView()) return;
    const QString path = QFileDialog::getOpenFileName(
        this, tr("Import Annotations"), QString(),
        tr("Annotations (*.geojson *.json *.xml);;QuPath GeoJSON (*.geojson *.json);;ASAP XML "
           "(*.xml)"));
    if (!path.isEmpty()) importAnnotations(path);
}

void MainWindow::chooseAnnotationsExport() {
    auto* annotations = ViewAnnotations::of(currentView());
    if (!annotations) return;
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Export Annotations"),
        QFileInfo(currentView()->document()->path()).completeBaseName() + ".geojson",
        tr("QuPath GeoJSON (*.geojson);;ASAP XML (*.xml)"));
    if (path.isEmpty()) return;
    const QString error = annotations->exportFile(path);
    if (!error.isEmpty())
        showError(tr("Cannot export annotations"), error);
    else
        statusBar()->showMessage(tr("Annotations written to %1").arg(path), 10000);
}

void MainWindow::closeEvent(QCloseEvent* e) {
    if (!modelTools_->mayClose()) {  // a training run the user keeps
        e->ignore();
        return;
    }
    QSettings settings;
    settings.setValue("window/geometry", saveGeometry());
    settings.setValue("window/state", saveState(kDockLayoutVersion));
    e->accept();
}

}  // namespace lucida::ui
