#pragma once
// Edit ▸ Undo / Redo of the window: one QUndoGroup over the current image's annotation stack and
// the bookmarks' stack. The active stack is the one changed last, or the one whose widget (the
// view, the Bookmarks dock) took the focus last, so the menu undoes what the user just did. The
// menu's actions carry no shortcut: Ctrl+Z already belongs to the view and to the dock (each
// with the focus in it), and one more window-wide Ctrl+Z would make the key ambiguous there.

#include <QMetaObject>
#include <QObject>
#include <QPointer>
#include <QUndoStack>

class QAction;
class QMenu;
class QUndoGroup;
class QWidget;

namespace lucida::ui {

class EditUndo : public QObject {
    Q_OBJECT
public:
    // Puts Undo and Redo at the top of `menu`; `bookmarks` is the Bookmarks dock's stack, `dock`
    // the dock itself.
    EditUndo(QMenu* menu, QUndoStack* bookmarks, QWidget* dock, QObject* parent);

    // The current image's annotation stack and its view (null: no image).
    void setAnnotations(QUndoStack* stack, QWidget* view);
    QUndoGroup* group() const { return group_; }
    QAction* undoAction() const { return undo_; }
    QAction* redoAction() const { return redo_; }

private:
    void focusMoved(QWidget* now);

    QUndoGroup* group_;
    QPointer<QUndoStack> bookmarks_;
    QPointer<QWidget> dock_;
    QPointer<QUndoStack> annotations_;
    QPointer<QWidget> view_;
    QMetaObject::Connection annotationsChanged_;
    QAction* undo_;
    QAction* redo_;
};

}  // namespace lucida::ui
