#pragma once

#include <QList>
#include <QObject>
#include <QString>

class QAction;
class QDockWidget;
class QMainWindow;
class QTabWidget;

namespace lucida {
struct ImageSettings;
}

namespace lucida::ui {

class AnalysisController;
class AnalysisPanel;
class ModelSession;
class SlideView;

// What the viewer window does with models: the analysis dock, menus and per-image controllers,
// and training. A build with LibTorch makes the real tools (ModelToolsTorch.cpp); one without
// makes tools that have no panel and say, when asked to open a model, that they cannot
// (ModelToolsNoTorch.cpp). CMake compiles one of the two, so the window needs no #ifdef.
class ModelTools : public QObject {
    Q_OBJECT
public:
    // `tabs` holds the window's SlideViews.
    static ModelTools* create(QMainWindow* window, QTabWidget* tabs);

    virtual ModelSession* session() const = 0;
    virtual AnalysisPanel* panel() const = 0;  // null without LibTorch
    // The Analysis dock, tabbed with `beside`, most of the column below `above`.
    virtual void addDocks(QDockWidget* above, QDockWidget* beside) = 0;
    // The Analysis and Tools menus; returns the actions of the Analysis toolbar (none: no bar).
    virtual QList<QAction*> addMenus() = 0;
    virtual void attach(SlideView* view) = 0;          // a new document's analysis
    virtual void setCurrentView(SlideView* view) = 0;  // the current tab's (null: none)
    virtual AnalysisController* controller(const SlideView* view) const = 0;
    // Keeps `view`'s results in `root` from now on (an image of a project with its own results
    // folder, ui/cohort); a build without LibTorch keeps none.
    virtual void setResultsRoot(SlideView* view, const QString& root) {
        Q_UNUSED(view);
        Q_UNUSED(root);
    }
    // `view`'s analysis uses these project settings of its image over the session's
    // (AnalysisController::setImageSettings; ui/cohort/ProjectViews); without LibTorch: none.
    virtual void setImageSettings(SlideView* view, const ImageSettings& own) {
        Q_UNUSED(view);
        Q_UNUSED(own);
    }
    // A split view's pane (ui/split): its own analysis of the same image with its own session
    // (a build without LibTorch: none).
    virtual void attachPane(SlideView* pane, ModelSession* session) = 0;
    virtual void openModel(const QString& path) = 0;  // asynchronous; modelOpened / modelFailed
    virtual void analyseCurrent() = 0;  // the current document; opens a model first if needed
    virtual void setAnalyseOnOpen(bool analyse) = 0;  // every document, at once
    virtual bool isBusy() const = 0;                  // a model opening or an analysis running
    virtual bool mayClose() = 0;  // false: the window stays (a training run was kept)
    // File ▸ Export Report…: the case report of `view`'s analysis (ui/report), with its
    // annotations.
    virtual void exportReport(SlideView* view) = 0;

signals:
    void modelOpened(const QString& path);
    void modelFailed(const QString& message);
    void errorOccurred(const QString& title, const QString& message);  // shown as a dialog
    // The Analysis panel's Edit… of `view`'s project image settings (ui/cohort/ProjectViews).
    void imageSettingsEditRequested(SlideView* view);

protected:
    using QObject::QObject;
};

}  // namespace lucida::ui
