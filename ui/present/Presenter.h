#pragma once
// Bookmarks and presentation mode for the viewer window, in one piece the window creates: the
// Bookmarks dock, each image's bookmarks (a sidecar beside its results), the View menu's Add
// Bookmark (Ctrl+B) and Present (F5), the smooth move to a bookmark and presentation mode.

#include "SlideView.h"

#include <QObject>
#include <QPointer>

class QMainWindow;
class QMenu;
class QTabWidget;
class QAction;

namespace lucida::ui {

class BookmarkMover;
class BookmarksDock;
class ModelSession;
class PresentationMode;
class SlideView;

class Presenter : public QObject {
    Q_OBJECT
public:
    // `tabs` holds the window's SlideViews; `session` null: bookmarks keep no heat settings.
    Presenter(QMainWindow* window, QTabWidget* tabs, ModelSession* session);

    BookmarksDock* dock() const { return dock_; }
    BookmarkMover* mover() const { return mover_; }
    PresentationMode* presentation() const { return presentation_; }
    void addActions(QMenu* menu);  // Add Bookmark, Present; also on the window (menus may hide)

    void attach(SlideView* view);  // a new image: its bookmarks, loaded from its sidecar
    void setCurrentView(SlideView* view);
    int addBookmark();                          // the current view as a new bookmark; -1: no view
    void goTo(int index, bool animate = true);  // of the current view

signals:
    void errorOccurred(const QString& title, const QString& message);

private:
    void goToIn(SlideView* view, int index, bool animate);
    void togglePresentation();

    QMainWindow* window_;
    QTabWidget* tabs_;
    ModelSession* session_;
    BookmarksDock* dock_;
    BookmarkMover* mover_;
    PresentationMode* presentation_;
    QPointer<SlideView> current_;
    QAction* add_ = nullptr;
    QAction* present_ = nullptr;
};

}  // namespace lucida::ui
