#pragma once

#include "ImageOpener.h"

#include <QFutureWatcher>
#include <QMainWindow>
#include <QPointer>

#include <memory>

class QTabWidget;
class QLabel;
class QMenu;
class QComboBox;
class QDockWidget;
class QStackedWidget;
class QAction;

namespace lucida {
class Model;
}

namespace lucida::ui {

class TileService;
class SlideView;
class OverviewWidget;
class PropertiesPanel;
class DicomControls;
class RecentFiles;
class TrainingWizard;
class AnalysisPanel;
class AnalysisController;

// The viewer window: one tab per opened image, with the overview, properties and slice/window
// docks following the current tab. Opening is asynchronous; failures are shown as dialogs that
// name the file and the reason, and the window stays usable.
class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(TileService* tiles, QWidget* parent = nullptr);
    ~MainWindow() override;

    void openPath(const QString& path);  // asynchronous; see documentOpened / openFailed
    // One series of a DICOM folder or DICOMDIR (File ▸ DICOM Series…); asynchronous, as openPath.
    void openSeries(const QString& path, const QString& seriesUid);
    SlideView* currentView() const;
    int documentCount() const;
    OverviewWidget* overview() const { return overview_; }
    PropertiesPanel* properties() const { return properties_; }
    DicomControls* dicomControls() const { return dicomControls_; }
    QTabWidget* tabs() const { return tabs_; }
    RecentFiles* recentFiles() const { return recent_; }
    QString lastError() const { return lastError_; }
    bool isOpening() const { return pendingOpens_ > 0; }

    // Whole-slide analysis (builds with LibTorch; elsewhere openModel reports that it cannot).
    void openModel(const QString& path);  // asynchronous; see modelOpened / modelFailed
    void analyseCurrent();                // the current document; opens the model first if needed
    void setAnalyseOnOpen(bool analyse) { analyseOnOpen_ = analyse; }  // every document, at once
    QString modelPath() const { return modelPath_; }
    bool hasModel() const { return bool(model_); }
    bool isAnalysisBusy() const;  // a model opening or an analysis running
    AnalysisPanel* analysisPanel() const { return analysisPanel_; }
    AnalysisController* analysisController(const SlideView* view) const;

signals:
    void documentOpened(SlideView* view);
    void openFailed(const QString& message);
    void modelOpened(const QString& path);
    void modelFailed(const QString& message);

protected:
    void dragEnterEvent(QDragEnterEvent*) override;
    void dropEvent(QDropEvent*) override;
    void closeEvent(QCloseEvent*) override;

private:
    void buildActions();
    void showOpened(const OpenResult& result);
    void showError(const QString& title, const QString& message);
    void currentTabChanged();
    void closeTab(int index);
    void updateStatus();
    void rebuildRecentMenu();
    void chooseFile();
    void chooseFolder();
    void chooseSeries();  // the current DICOM folder's other series
    void setCacheBudget();
    void openTrainingWizard();               // Tools ▸ Train a Model (builds with LibTorch only)
    QList<QAction*> buildAnalysisActions();  // the actions for the Analysis toolbar
    void showAbout();
    void attachAnalysis(SlideView* view);
    void chooseModel();
    void describeModel();  // the open model's sidecar, edited in ModelDescriptionDialog
    // openModel; a model remembered from the last session (reportErrors false) that cannot be
    // opened says so in the panel and the status bar, with no dialog at start-up.
    void loadModel(const QString& path, bool reportErrors);
    void applyAnalysisDisplay();
    void showRegion(const QRectF& region, bool closer = false);
    QList<AnalysisController*> analysisControllers() const;

    TileService* tiles_;
    QStackedWidget* centre_;
    QTabWidget* tabs_;
    OverviewWidget* overview_;
    PropertiesPanel* properties_;
    DicomControls* dicomControls_;
    QDockWidget* dicomDock_;
    RecentFiles* recent_;
    QMenu* recentMenu_ = nullptr;
    QComboBox* magnification_ = nullptr;
    QLabel* positionLabel_;
    QLabel* zoomLabel_;
    QString lastError_;
    int pendingOpens_ = 0;
    QList<QMetaObject::Connection> viewConnections_;
    QPointer<TrainingWizard> trainingWizard_;
    AnalysisPanel* analysisPanel_ = nullptr;
    QDockWidget* analysisDock_ = nullptr;
    QAction* seriesAction_ = nullptr;
    QAction* heatmapAction_ = nullptr;
    QAction* liveAction_ = nullptr;
    QAction* outlineAction_ = nullptr;
    std::shared_ptr<const Model> model_;
    QString modelPath_;
    int modelRequest_ = 0;  // the latest openModel; older loads are dropped
    bool modelLoading_ = false;
    bool analysePending_ = false;  // analyse the current document once the model is there
    bool analyseOnOpen_ = false;
};

}  // namespace lucida::ui
