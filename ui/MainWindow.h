#pragma once

#include "ImageOpener.h"

#include <QFutureWatcher>
#include <QMainWindow>

class QTabWidget;
class QLabel;
class QMenu;
class QComboBox;
class QDockWidget;
class QStackedWidget;
class QAction;
class QActionGroup;
class QToolBar;

namespace lucida {
struct ImageSettings;
}

namespace lucida::ui {

class TileService;
class SlideView;
class AnnotationsDock;
class OverviewWidget;
class PropertiesPanel;
class DicomControls;
class RecentFiles;
class AnalysisPanel;
class AnalysisController;
class ModelTools;
class Presenter;
class EditUndo;
class ProjectDock;
class ProjectMenu;
class SplitActions;

// The viewer window: one tab per opened image, with the overview, properties and slice/window
// docks following the current tab. Opening is asynchronous; failures are shown as dialogs that
// name the file and the reason, and the window stays usable.
class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(TileService* tiles, QWidget* parent = nullptr);
    ~MainWindow() override;

    void openPath(const QString& path);  // asynchronous; see documentOpened / openFailed
    // A project image with its own settings' pixel size (QueueSettings.h); asynchronous, as
    // openPath.
    void openProjectImage(const QString& path, const lucida::ImageSettings& own);
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

    // Whole-slide analysis and training (ModelTools: builds with LibTorch; elsewhere openModel
    // reports that it cannot).
    void openModel(const QString& path);  // asynchronous; see modelOpened / modelFailed
    void analyseCurrent();                // the current document; opens the model first if needed
    void setAnalyseOnOpen(bool analyse);  // every document, at once
    QString modelPath() const;
    bool hasModel() const;
    bool isAnalysisBusy() const;           // a model opening or an analysis running
    AnalysisPanel* analysisPanel() const;  // null without LibTorch
    AnalysisController* analysisController(const SlideView* view) const;
    ProjectDock* projectDock() const { return projectDock_; }  // File ▸ Project
    ProjectMenu* projectMenu() const { return projectMenu_; }

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
    void buildMagnificationBox(QToolBar* bar);
    void openAsync(const QString& message, const QFuture<OpenResult>& future);
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
    void showAbout();
    void importAnnotations(const QString& path);  // into the current image
    void chooseAnnotationsToImport();
    void chooseAnnotationsExport();

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
    ModelTools* modelTools_;
    AnnotationsDock* annotationsDock_;
    Presenter* presenter_ = nullptr;      // bookmarks and presentation mode
    EditUndo* editUndo_ = nullptr;        // Edit ▸ Undo / Redo
    ProjectDock* projectDock_ = nullptr;  // cohort projects and their background queue
    ProjectMenu* projectMenu_ = nullptr;
    SplitActions* split_ = nullptr;  // View ▸ Split
    QActionGroup* annotationTools_ = nullptr;
    QAction* seriesAction_ = nullptr;
};

}  // namespace lucida::ui
