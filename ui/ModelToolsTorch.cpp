// ModelTools of a build with LibTorch: the analysis dock and menu, an AnalysisController per
// image, and the training wizard, all around one ModelSession.
#include "ModelTools.h"

#include "AnalysisController.h"
#include "AnalysisPanel.h"
#include "AnnotationDocument.h"
#include "CaseReportExport.h"
#include "HeatmapOverlay.h"
#include "Icons.h"
#include "ImageDocument.h"
#include "LocalisationDialog.h"
#include "MapCheckDialog.h"
#include "ModelDescriptionDialog.h"
#include "ModelSession.h"
#include "ResultsLocation.h"
#include "SlideView.h"
#include "SplitView.h"
#include "TrainingWizard.h"
#include "ViewAnnotations.h"
#include "annotations/HeatRegions.h"
#include "model/Model.h"

#include <QAction>
#include <QDir>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QInputDialog>
#include <QMainWindow>
#include <QMenuBar>
#include <QMessageBox>
#include <QPointer>
#include <QSettings>
#include <QStatusBar>
#include <QTabWidget>

#include <algorithm>

namespace lucida::ui {

namespace {

// Top regions zoom to at most the scan's own scale (1:1), or this with Shift.
constexpr double kRegionCloserScale = 2.0;

class TorchModelTools final : public ModelTools {
public:
    TorchModelTools(QMainWindow* window, QTabWidget* tabs);

    ModelSession* session() const override { return session_; }
    AnalysisPanel* panel() const override { return panel_; }
    void addDocks(QDockWidget* above, QDockWidget* beside) override;
    QList<QAction*> addMenus() override;
    void attach(SlideView* view) override;
    void setCurrentView(SlideView* view) override {
        panel_->setController(controller(view));
        panel_->showHeatInside({});  // an answer about another image
    }
    AnalysisController* controller(const SlideView* view) const override {
        return AnalysisController::of(view);
    }
    void setResultsRoot(SlideView* view, const QString& root) override {
        if (auto* c = controller(view); c && c->resultsRoot() != root) {
            c->setResultsRoot(root);
            c->resultsPlaceChanged();  // the run restarts on what is stored there
        }
    }
    void setImageSettings(SlideView* view, const ImageSettings& own) override {
        if (auto* c = controller(view)) c->setImageSettings(own);
    }
    void attachPane(SlideView* pane, ModelSession* session) override;
    void openModel(const QString& path) override { session_->open(path); }
    void analyseCurrent() override;
    void setAnalyseOnOpen(bool analyse) override { analyseOnOpen_ = analyse; }
    bool isBusy() const override;
    bool mayClose() override { return !trainingWizard_ || trainingWizard_->stopTrainingForQuit(); }
    void exportReport(SlideView* view) override {  // null: no image open
        std::optional<AnnotationSet> annotations;
        if (auto* notes = view ? ViewAnnotations::of(view) : nullptr; notes && notes->document())
            annotations = notes->document()->set();
        exportCaseReport(window_, view, controller(view), std::move(annotations));
    }

private:
    SlideView* currentView() const { return SplitView::viewIn(tabs_->currentWidget()); }
    QList<AnalysisController*> controllers() const;
    void applyVisibility();
    std::pair<std::shared_ptr<const FloatRaster>, ViewAnnotations*> shownHeat(
        const QString& title) const;
    void createRegionsFromHeat();  // the shown heat above a threshold, as annotations
    void measureHeatInside();      // the heat's energy inside a class's areas
    void chooseModel();
    void describeModel();  // the open model's sidecar, edited in ModelDescriptionDialog
    void modelLoaded();
    void modelFailedToLoad(const QString& path, const QString& error, bool loud);
    void showRegion(const QRectF& region, bool closer);
    void openTrainingWizard();

    QMainWindow* window_;
    QTabWidget* tabs_;
    ModelSession* session_;
    AnalysisPanel* panel_;
    QDockWidget* dock_ = nullptr;
    QAction* heatmapAction_ = nullptr;
    QAction* outlineAction_ = nullptr;
    QPointer<TrainingWizard> trainingWizard_;
    bool analysePending_ = false;  // analyse the current document once the model is there
    bool analyseOnOpen_ = false;
};

TorchModelTools::TorchModelTools(QMainWindow* window, QTabWidget* tabs)
    : ModelTools(window),
      window_(window),
      tabs_(tabs),
      session_(new ModelSession(&AnalysisController::openModelAsync, this)),
      panel_(new AnalysisPanel(session_, window)) {
    connect(panel_, &AnalysisPanel::openModelRequested, this, &TorchModelTools::chooseModel);
    connect(panel_, &AnalysisPanel::modelChosen, this, &TorchModelTools::openModel);
    connect(panel_, &AnalysisPanel::describeModelRequested, this, &TorchModelTools::describeModel);
    connect(panel_, &AnalysisPanel::analyseRequested, this, &TorchModelTools::analyseCurrent);
    connect(panel_, &AnalysisPanel::regionActivated, this, &TorchModelTools::showRegion);
    connect(panel_, &AnalysisPanel::regionsFromHeatRequested, this,
            &TorchModelTools::createRegionsFromHeat);
    connect(panel_, &AnalysisPanel::heatInsideRequested, this, &TorchModelTools::measureHeatInside);
    connect(panel_, &AnalysisPanel::imageSettingsEditRequested, this, [this] {
        if (SlideView* view = currentView()) emit imageSettingsEditRequested(view);
    });
    connect(session_, &ModelSession::modelChanged, this, [this] {
        if (session_->isLoading())
            window_->statusBar()->showMessage(tr("Opening model %1…").arg(session_->path()));
    });
    connect(session_, &ModelSession::modelOpened, this, &TorchModelTools::modelLoaded);
    connect(session_, &ModelSession::modelFailed, this, &TorchModelTools::modelFailedToLoad);
}

void TorchModelTools::addDocks(QDockWidget* above, QDockWidget* beside) {
    dock_ = new QDockWidget(tr("Analysis"), window_);
    dock_->setObjectName("analysisDock");
    dock_->setWidget(panel_);
    window_->addDockWidget(Qt::RightDockWidgetArea, dock_);
    window_->tabifyDockWidget(beside, dock_);
    dock_->raise();
    // The model last used opens at once, off the GUI thread: ready by the time a slide is.
    if (const QString last = ModelSession::lastModel(); !last.isEmpty())
        session_->open(last, /*reportErrors=*/false);
    // The panel is tall: most of the column is its (until a saved layout says otherwise).
    window_->resizeDocks({above, dock_}, {200, 700}, Qt::Vertical);
    window_->resizeDocks({dock_}, {panel_->minimumWidth()}, Qt::Horizontal);
}

QList<QAction*> TorchModelTools::addMenus() {
    QMenu* menu = window_->menuBar()->addMenu(tr("&Analysis"));
    QAction* open = menu->addAction(ownIcon("model-open"), tr("Open &Model…"),
                                    QKeySequence("Ctrl+M"), this, &TorchModelTools::chooseModel);
    open->setObjectName("openModelAction");
    QAction* analyse =
        menu->addAction(ownIcon("analyse-slide"), tr("&Analyse Slide"),
                        QKeySequence("Ctrl+Shift+A"), this, &TorchModelTools::analyseCurrent);
    analyse->setObjectName("analyseSlideAction");
    analyse->setStatusTip(tr("Run the model over every tissue patch of the slide"));
    QAction* live = menu->addAction(ownIcon("live-heatmap"), tr("&Live Heatmap While Panning"));
    live->setObjectName("liveHeatmapAction");
    live->setShortcut(QKeySequence("Ctrl+L"));
    live->setCheckable(true);
    live->setChecked(session_->isLive());
    live->setStatusTip(tr("With a model open, analyse the patches on screen as you pan and zoom"));
    connect(live, &QAction::toggled, session_, &ModelSession::setLive);
    connect(session_, &ModelSession::liveChanged, live, &QAction::setChecked);
    QAction* beside = menu->addAction(tr("Keep Results &Beside the Image"));
    beside->setObjectName("resultsBesideImageAction");
    beside->setCheckable(true);
    beside->setChecked(savedResultsPlace() == ResultsPlace::BesideImage);
    beside->setStatusTip(
        tr("Keep analysis results in <image>.lucida/ next to the image instead "
           "of your own results store (never in folders that cannot be written)"));
    connect(beside, &QAction::toggled, this, [this](bool on) {
        saveResultsPlace(on ? ResultsPlace::BesideImage : ResultsPlace::UserStore);
        for (AnalysisController* c : controllers()) c->resultsPlaceChanged();
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
    connect(heatmapAction_, &QAction::toggled, this, &TorchModelTools::applyVisibility);
    connect(outlineAction_, &QAction::toggled, this, &TorchModelTools::applyVisibility);
    menu->addSeparator();
    menu->addAction(tr("Create &Regions from Heat…"), this,
                    &TorchModelTools::createRegionsFromHeat);
    menu->addAction(tr("Heat &Inside Annotations…"), this, &TorchModelTools::measureHeatInside);
    QAction* check = menu->addAction(tr("&Check This Map…"), this, [this] {
        openMapCheckDialog(window_, currentView(), session_->model(), session_->method(),
                           session_->classIndex());
    });
    check->setObjectName("checkMapAction");
    check->setStatusTip(
        tr("Does the map depend on the model's weights, and does the model need "
           "the pixels it marks? (whole image, patch under the cursor, or the "
           "selected annotation)"));
    QAction* localisation = menu->addAction(tr("&Localisation…"), this, [this] {
        openLocalisationDialog(window_, currentView(), *session_);
    });
    localisation->setObjectName("localisationAction");
    localisation->setStatusTip(
        tr("Does the heat point at your annotated regions? Pointing game and energy pointing "
           "per method"));
    menu->addSeparator();
    menu->addAction(dock_->toggleViewAction());

    QMenu* tools = window_->menuBar()->addMenu(tr("&Tools"));
    QAction* train = tools->addAction(tr("&Train a Model…"), QKeySequence("Ctrl+Shift+T"), this,
                                      &TorchModelTools::openTrainingWizard);
    train->setObjectName("trainModelAction");
    train->setStatusTip(tr("Train a classifier on a folder of images, one sub-folder per class"));
    return {open, analyse, live, heatmapAction_};
}

QList<AnalysisController*> TorchModelTools::controllers() const {
    QList<AnalysisController*> all;
    for (int i = 0; i < tabs_->count(); ++i)
        all << tabs_->widget(i)->findChildren<AnalysisController*>();  // split panes' too
    return all;
}

bool TorchModelTools::isBusy() const {
    if (session_->isLoading()) return true;
    const auto all = controllers();
    return std::any_of(all.begin(), all.end(),
                       [](const AnalysisController* c) { return c->isBusy(); });
}

void TorchModelTools::attachPane(SlideView* pane, ModelSession* session) {
    auto* controller = new AnalysisController(pane, session);
    controller->overlay()->setHeatmapVisible(heatmapAction_->isChecked());
    controller->overlay()->setOutlineVisible(outlineAction_->isChecked());
    connect(controller, &AnalysisController::failed, this, [this, pane](const QString& message) {
        emit errorOccurred(tr("Cannot analyse %1").arg(pane->document()->displayName()), message);
    });
}

void TorchModelTools::attach(SlideView* view) {
    trackCursor(view);  // Check This Map's "patch under the cursor"
    auto* controller = new AnalysisController(view, session_);
    controller->overlay()->setHeatmapVisible(heatmapAction_->isChecked());
    controller->overlay()->setOutlineVisible(outlineAction_->isChecked());
    connect(controller, &AnalysisController::failed, this, [this, view](const QString& message) {
        emit errorOccurred(tr("Cannot analyse %1").arg(view->document()->displayName()), message);
    });
    if (session_->model() && analyseOnOpen_) controller->start();
}

namespace {

// The classes a user can choose for regions or ask about: the image's, then the defaults.
QStringList classNames(const AnnotationSet& set) {
    QStringList names;
    for (const AnnotationClass& c : set.classes) names << QString::fromStdString(c.name);
    for (const AnnotationClass& c : defaultAnnotationClasses())
        if (!names.contains(QString::fromStdString(c.name)))
            names << QString::fromStdString(c.name);
    return names;
}

}  // namespace

// The current image's shown heat and its annotations; nulls, said in a box titled `title`, when
// it has no heat yet.
std::pair<std::shared_ptr<const FloatRaster>, ViewAnnotations*> TorchModelTools::shownHeat(
    const QString& title) const {
    SlideView* view = currentView();
    AnalysisController* c = controller(view);
    ViewAnnotations* annotations = ViewAnnotations::of(view);
    auto raster = c ? c->overlay()->shownRaster() : nullptr;
    if (raster && annotations) return {std::move(raster), annotations};
    QMessageBox::information(window_, title,
                             tr("Analyse the image first: there is no heat on it yet."));
    return {nullptr, nullptr};
}

void TorchModelTools::createRegionsFromHeat() {
    const auto [raster, annotations] = shownHeat(tr("Create Regions from Heat"));
    if (!raster) return;
    bool ok = false;
    const double threshold = QInputDialog::getDouble(
        window_, tr("Create Regions from Heat"), tr("Outline the heat at or above (0-1):"),
        std::max(0.05, session_->threshold()), 0.0, 1.0, 2, &ok, {}, 0.05);
    if (!ok) return;
    const QString cls =
        QInputDialog::getItem(window_, tr("Create Regions from Heat"), tr("Class of the regions:"),
                              classNames(annotations->document()->set()), 0, true, &ok);
    if (!ok) return;
    HeatRegionOptions options;
    options.threshold = threshold;
    options.className = cls.trimmed().toStdString();
    options.minArea = 4 * raster->cellSize * raster->cellSize;  // smaller is noise
    AnnotationSet regions;
    regions.items = heatRegions(*raster, options);
    regions.useClass(options.className, std::nullopt);
    annotations->document()->import(regions);
    window_->statusBar()->showMessage(
        tr("%n region(s) of heat >= %1 added as %2 (Ctrl+Z undoes)", "", int(regions.items.size()))
            .arg(threshold, 0, 'f', 2)
            .arg(cls),
        15000);
}

void TorchModelTools::measureHeatInside() {
    const auto [raster, annotations] = shownHeat(tr("Heat Inside Annotations"));
    if (!raster) return;
    const AnnotationSet& set = annotations->document()->set();
    QStringList choices{tr("(every area)")};
    for (const AnnotationClass& k : set.classes) choices << QString::fromStdString(k.name);
    bool ok = false;
    const QString cls = QInputDialog::getItem(window_, tr("Heat Inside Annotations"),
                                              tr("Areas of class:"), choices, 0, false, &ok);
    if (!ok) return;
    std::vector<const Annotation*> areas;
    for (const Annotation& a : set.items)
        if (a.geometry.isArea() && (cls == choices.front() || a.className == cls.toStdString()))
            areas.push_back(&a);
    if (areas.empty()) {
        QMessageBox::information(window_, tr("Heat Inside Annotations"),
                                 tr("No area annotation of that class on this image."));
        return;
    }
    const HeatInside h = heatInside(*raster, areas);
    panel_->showHeatInside(tr("%1: %2% of the heat inside, peak %3")
                               .arg(cls)
                               .arg(100 * h.energyShare, 0, 'f', 1)
                               .arg(h.peakInside ? tr("inside") : tr("outside")));
    QMessageBox::information(
        window_, tr("Heat Inside Annotations"),
        tr("%n area(s) hold %1% of the heat's energy (the sum of the heat whose cells' centres lie "
           "inside, over all heat).\nThe heat's peak (%2) lies %3 them.",
           "", int(h.areas))
            .arg(100 * h.energyShare, 0, 'f', 1)
            .arg(h.peakValue, 0, 'f', 2)
            .arg(h.peakInside ? tr("inside") : tr("outside")));
}

void TorchModelTools::applyVisibility() {
    for (AnalysisController* c : controllers()) {
        c->overlay()->setHeatmapVisible(heatmapAction_->isChecked());
        c->overlay()->setOutlineVisible(outlineAction_->isChecked());
    }
}

void TorchModelTools::chooseModel() {
    QSettings settings;
    const QString start = ModelSession::lastModel();
    const QString path = QFileDialog::getOpenFileName(
        window_, tr("Open Model"), start.isEmpty() ? settings.value("lastDir").toString() : start,
        tr("Models (*.pt *.pth *.ts *.torchscript);;All files (*)"));
    if (path.isEmpty()) {
        analysePending_ = false;
        return;
    }
    openModel(path);
}

void TorchModelTools::describeModel() {
    const std::shared_ptr<const Model> model = session_->model();
    if (!model) return;
    ModelDescriptionDialog dialog(model, window_);
    if (dialog.exec() != QDialog::Accepted) return;
    window_->statusBar()->showMessage(tr("Model description saved in %1").arg(dialog.sidecarPath()),
                                      5000);
    // Opened again with its new description; results under the old one are not reused (the
    // analysis key includes the sidecar).
    openModel(QString::fromStdString(model->path()));
}

void TorchModelTools::modelLoaded() {
    window_->statusBar()->clearMessage();
    emit modelOpened(session_->path());
    if (analyseOnOpen_) {
        for (AnalysisController* c : controllers()) c->start();
    } else if (analysePending_) {
        analysePending_ = false;
        analyseCurrent();
    }
}

void TorchModelTools::modelFailedToLoad(const QString& path, const QString& error, bool loud) {
    Q_UNUSED(path);
    analysePending_ = false;
    window_->statusBar()->clearMessage();
    if (loud)
        emit errorOccurred(tr("Cannot open model"), error);
    else if (QFileInfo::exists(session_->path()))  // a gone file says so in the panel only
        window_->statusBar()->showMessage(tr("Cannot open the last model: %1").arg(error));
    emit modelFailed(error);
}

void TorchModelTools::analyseCurrent() {
    SlideView* view = currentView();
    if (!view) {
        window_->statusBar()->showMessage(tr("Open a slide to analyse it."), 5000);
        return;
    }
    dock_->show();
    dock_->raise();
    if (!session_->model()) {
        analysePending_ = true;
        if (session_->isLoading()) return;
        const QString path = panel_->selectedModelPath();
        if (!path.isEmpty() && QFileInfo::exists(path))
            openModel(path);
        else
            chooseModel();
        return;
    }
    if (AnalysisController* c = controller(view)) c->start();
}

void TorchModelTools::showRegion(const QRectF& region, bool closer) {
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

void TorchModelTools::openTrainingWizard() {
    if (!trainingWizard_) {
        trainingWizard_ = new TrainingWizard(window_);
        trainingWizard_->setAttribute(Qt::WA_DeleteOnClose);
        // "Open the Model in the Viewer": the viewer switches to it (panel, heat, recent list).
        connect(trainingWizard_, &TrainingWizard::modelTrained, this, [this](const QString& path) {
            openModel(path);
            window_->statusBar()->showMessage(
                tr("Trained model: %1").arg(QDir::toNativeSeparators(path)));
        });
    }
    trainingWizard_->show();
    trainingWizard_->raise();
    trainingWizard_->activateWindow();
}

}  // namespace

ModelTools* ModelTools::create(QMainWindow* window, QTabWidget* tabs) {
    return new TorchModelTools(window, tabs);
}

}  // namespace lucida::ui
