#pragma once

// The Project dock: the images of a cohort project (CohortProject, core/cohort) in a sortable,
// filterable table with their thumbnails, sizes, analysis status and scores for the window's model
// and settings, read from each image's stored results (made on a worker thread, so the table fills
// in as they come); double-click opens an image. "Analyse All / Selected" runs the background
// AnalysisQueue with overall progress, rate and ETA, pause and cancel; the viewer keeps priority
// (setViewerBusy). An image's own settings (Image Settings… in the table's context menu) are saved
// to the project file at once and used by its status and the queue.

#include "AnalysisQueue.h"
#include "QueueSettings.h"

#include <QDockWidget>
#include <QThreadPool>

#include <functional>

class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSortFilterProxyModel;
class QTableView;

namespace lucida::ui {

class ModelSession;
class ProjectTableModel;

class ProjectDock : public QDockWidget {
    Q_OBJECT
public:
    ProjectDock(ModelSession* session, QWidget* parent = nullptr);
    ~ProjectDock() override;

    // Reads a project file (errors: CohortError naming the file); the table shows its images.
    void openProject(const QString& path);
    // Makes a project of a folder or CSV manifest, written to `projectPath` (atomically), with
    // its results folder "<project>.results" beside it, and opens it.
    void createProject(const QString& source, const QString& projectPath);
    QString projectPath() const { return projectPath_; }
    QString resultsDir() const { return resultsDir_; }
    // Where the project keeps `imagePath`'s results; empty when it is not in the project.
    QString resultsRootOfImage(const QString& imagePath) const;
    // The source-model row of `imagePath` (-1: not in the project) and its own settings.
    int rowOfImage(const QString& imagePath) const;
    ImageSettings imageSettingsOf(const QString& imagePath) const;

    // Polled while the queue runs: true while the viewer analyses (the queue waits for it).
    void setViewerBusy(std::function<bool()> busy) { viewerBusy_ = std::move(busy); }

    void analyseAll();
    void analyseSelected();
    void setPaused(bool paused);
    void cancelQueue();
    bool isQueueRunning() const { return queue_->isRunning(); }
    void rescan();  // every row's status (the model or settings changed)
    // Gives source-model `rows` these own settings, writes the project file (atomically) and
    // rescans them. Throws std::exception (naming the file) when the file cannot be written; the
    // table then keeps the settings it had.
    void setImageSettings(const std::vector<int>& rows, const ImageSettings& own);
    // The dialog for the selected rows (initialised from the first), then setImageSettings.
    void editSelectedImageSettings();
    void editImageSettings(const std::vector<int>& rows);  // the same for these rows
    std::vector<int> selectedRows() const;

    ProjectTableModel* table() const { return model_; }
    QTableView* view() const { return view_; }
    QSortFilterProxyModel* proxy() const { return proxy_; }
    int pendingScans() const { return pendingScans_; }

signals:
    // Double-click: the image and its own settings (its pixel size applies in the viewer).
    void openImageRequested(const QString& path, const lucida::ImageSettings& own);
    void projectOpened(const QString& path);
    void queueFinished(bool cancelled);
    void scansFinished();  // every requested scan has arrived
    // setImageSettings saved these for the image (open views follow: ProjectViews).
    void imageSettingsChanged(const QString& imagePath, const lucida::ImageSettings& own);

private:
    void buildWidgets();
    void showContextMenu(const QPoint& at);
    void scanRow(int row);
    void enqueue(const std::vector<int>& rows);
    void showProgress(const QueueProgress& p);
    void imageFinished(int row, const QString& status, const QString& error);
    void updateButtons();

    ModelSession* session_;
    ProjectTableModel* model_;
    QSortFilterProxyModel* proxy_;
    QTableView* view_;
    QLineEdit* filter_;
    QPushButton *analyseAll_, *analyseSelected_, *pause_, *cancel_;
    QProgressBar* progressBar_;
    QLabel* progressText_;
    AnalysisQueue* queue_;
    QThreadPool scanPool_;
    std::function<bool()> viewerBusy_;
    QString projectPath_, resultsDir_;
    quint64 scanGeneration_ = 0;
    int pendingScans_ = 0;
};

}  // namespace lucida::ui
