#include "EditUndo.h"

#include <QAction>
#include <QApplication>
#include <QMenu>
#include <QUndoGroup>

namespace lucida::ui {

EditUndo::EditUndo(QMenu* menu, QUndoStack* bookmarks, QWidget* dock, QObject* parent)
    : QObject(parent), group_(new QUndoGroup(this)), bookmarks_(bookmarks), dock_(dock) {
    undo_ = group_->createUndoAction(this, tr("&Undo"));
    undo_->setObjectName("editUndoAction");
    redo_ = group_->createRedoAction(this, tr("&Redo"));
    redo_->setObjectName("editRedoAction");
    QAction* first = menu->actions().isEmpty() ? nullptr : menu->actions().front();
    menu->insertActions(first, {undo_, redo_});
    if (first) menu->insertSeparator(first);
    group_->addStack(bookmarks);
    group_->setActiveStack(bookmarks);
    // A deletion (or its undo in the dock) makes the bookmarks what the menu undoes next.
    connect(bookmarks, &QUndoStack::indexChanged, this, [this] {
        if (bookmarks_ && bookmarks_->count() > 0) group_->setActiveStack(bookmarks_);
    });
    connect(qApp, &QApplication::focusChanged, this,
            [this](QWidget*, QWidget* now) { focusMoved(now); });
}

void EditUndo::setAnnotations(QUndoStack* stack, QWidget* view) {
    if (annotations_ != stack) {
        disconnect(annotationsChanged_);
        if (annotations_) group_->removeStack(annotations_);
        annotations_ = stack;
        if (stack) {
            group_->addStack(stack);
            annotationsChanged_ = connect(stack, &QUndoStack::indexChanged, this, [this] {
                if (annotations_) group_->setActiveStack(annotations_);
            });
        }
    }
    view_ = view;
    // A new image: its annotations, unless the bookmarks hold an edit (they were cleared if the
    // image changed, so any edit there belongs to this one).
    if (stack && !(bookmarks_ && bookmarks_->count() > 0))
        group_->setActiveStack(stack);
    else if (!stack)
        group_->setActiveStack(bookmarks_);
}

void EditUndo::focusMoved(QWidget* now) {
    for (QWidget* w = now; w; w = w->parentWidget()) {
        if (dock_ && w == dock_) {
            group_->setActiveStack(bookmarks_);
            return;
        }
        if (view_ && annotations_ && w == view_) {
            group_->setActiveStack(annotations_);
            return;
        }
    }
}

}  // namespace lucida::ui
