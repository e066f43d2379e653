#pragma once
// The Bookmarks dock: the current image's bookmarks as a list. Add (Ctrl+B: the window's
// action), go to (double-click or Enter), rename (F2 or the button: edited in place), reorder
// (drag, or the up/down buttons), delete (undone with Ctrl+Z while the dock has the focus: the
// bookmark returns to its place, and the sidecar to what it was).

#include "ViewBookmarks.h"

#include <QDockWidget>
#include <QPointer>

class QListWidget;
class QListWidgetItem;
class QToolButton;
class QUndoStack;

namespace lucida::ui {

class BookmarksDock : public QDockWidget {
    Q_OBJECT
public:
    explicit BookmarksDock(QWidget* parent = nullptr);

    void setBookmarks(ViewBookmarks* bookmarks);  // null: no image
    ViewBookmarks* bookmarks() const { return bookmarks_; }
    QListWidget* list() const { return list_; }
    int currentIndex() const;
    void editName(int index);                        // starts editing the name in place
    void removeCurrent();                            // undoable
    QUndoStack* undoStack() const { return undo_; }  // this image's deletions

signals:
    void goToRequested(int index);
    void addRequested();

private:
    void rebuild();
    void moveCurrent(int delta);
    void updateButtons();

    QPointer<ViewBookmarks> bookmarks_;
    QMetaObject::Connection changedConnection_;
    QListWidget* list_;
    QToolButton* add_;
    QToolButton* up_;
    QToolButton* down_;
    QToolButton* rename_;
    QToolButton* remove_;
    bool rebuilding_ = false;
    QUndoStack* undo_;
};

}  // namespace lucida::ui
