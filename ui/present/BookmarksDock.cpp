#include "BookmarksDock.h"

#include "ViewBookmarks.h"

#include <QAbstractItemModel>
#include <QAction>
#include <QHBoxLayout>
#include <QKeyEvent>
#include <QListWidget>
#include <QMessageBox>
#include <QStyle>
#include <QToolButton>
#include <QUndoStack>
#include <QVBoxLayout>

namespace lucida::ui {

namespace {
// `icon` null: the text shows instead.
QToolButton* button(QWidget* parent, const QIcon& icon, const QString& text, const char* name) {
    auto* b = new QToolButton(parent);
    b->setIcon(icon);
    if (icon.isNull()) b->setToolButtonStyle(Qt::ToolButtonTextOnly);
    b->setText(text);
    b->setToolTip(text);
    b->setObjectName(name);
    b->setAutoRaise(true);
    return b;
}
}  // namespace

BookmarksDock::BookmarksDock(QWidget* parent) : QDockWidget(tr("Bookmarks"), parent) {
    setObjectName("bookmarksDock");
    undo_ = new QUndoStack(this);
    // Ctrl+Z / Ctrl+Shift+Z with the focus in the dock (the view's own keys undo annotations).
    QAction* undo = undo_->createUndoAction(this, tr("Undo"));
    undo->setObjectName("undoBookmarkAction");
    undo->setShortcut(QKeySequence::Undo);
    QAction* redo = undo_->createRedoAction(this, tr("Redo"));
    redo->setObjectName("redoBookmarkAction");
    redo->setShortcut(QKeySequence::Redo);
    for (QAction* a : {undo, redo}) {
        a->setShortcutContext(Qt::WidgetWithChildrenShortcut);
        addAction(a);
    }
    auto* body = new QWidget(this);
    list_ = new QListWidget(body);
    list_->setObjectName("bookmarkList");
    list_->setDragDropMode(QAbstractItemView::InternalMove);
    list_->setDefaultDropAction(Qt::MoveAction);
    list_->setEditTriggers(QAbstractItemView::EditKeyPressed);  // double-click goes to it
    list_->setToolTip(tr("Double-click to go to a view; drag to reorder; F2 renames"));
    add_ = button(body, {}, tr("Add"), "addBookmarkButton");
    add_->setToolTip(tr("Add a bookmark of this view (Ctrl+B)"));
    up_ =
        button(body, style()->standardIcon(QStyle::SP_ArrowUp), tr("Move Up"), "bookmarkUpButton");
    down_ = button(body, style()->standardIcon(QStyle::SP_ArrowDown), tr("Move Down"),
                   "bookmarkDownButton");
    rename_ = button(body, {}, tr("Rename"), "renameBookmarkButton");
    remove_ = button(body, {}, tr("Delete"), "deleteBookmarkButton");
    auto* buttons = new QHBoxLayout;
    for (QToolButton* b : {add_, up_, down_, rename_, remove_}) buttons->addWidget(b);
    buttons->addStretch(1);
    auto* layout = new QVBoxLayout(body);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(list_, 1);
    layout->addLayout(buttons);
    setWidget(body);

    connect(add_, &QToolButton::clicked, this, &BookmarksDock::addRequested);
    connect(up_, &QToolButton::clicked, this, [this] { moveCurrent(-1); });
    connect(down_, &QToolButton::clicked, this, [this] { moveCurrent(+1); });
    connect(rename_, &QToolButton::clicked, this, [this] { editName(currentIndex()); });
    connect(remove_, &QToolButton::clicked, this, &BookmarksDock::removeCurrent);
    connect(list_, &QListWidget::itemActivated, this,
            [this](QListWidgetItem* item) { emit goToRequested(list_->row(item)); });
    connect(list_, &QListWidget::currentRowChanged, this, &BookmarksDock::updateButtons);
    connect(list_, &QListWidget::itemChanged, this, [this](QListWidgetItem* item) {
        if (!rebuilding_ && bookmarks_) bookmarks_->rename(list_->row(item), item->text());
    });
    // A drag moved one row: the same move in the bookmarks (which rebuilds the list).
    connect(list_->model(), &QAbstractItemModel::rowsMoved, this,
            [this](const QModelIndex&, int from, int, const QModelIndex&, int to) {
                if (rebuilding_ || !bookmarks_) return;
                const int target = to > from ? to - 1 : to;
                bookmarks_->move(from, target);
                list_->setCurrentRow(target);
            });
    updateButtons();
}

void BookmarksDock::setBookmarks(ViewBookmarks* bookmarks) {
    disconnect(changedConnection_);
    if (bookmarks != bookmarks_) undo_->clear();  // deletions belong to their image
    bookmarks_ = bookmarks;
    if (bookmarks)
        changedConnection_ =
            connect(bookmarks, &ViewBookmarks::changed, this, &BookmarksDock::rebuild);
    rebuild();
}

int BookmarksDock::currentIndex() const { return list_->currentRow(); }

void BookmarksDock::rebuild() {
    rebuilding_ = true;
    const int current = list_->currentRow();
    list_->clear();
    if (bookmarks_)
        for (const Bookmark& b : bookmarks_->items()) {
            auto* item = new QListWidgetItem(QString::fromStdString(b.name), list_);
            item->setFlags(item->flags() | Qt::ItemIsEditable | Qt::ItemIsDragEnabled);
            item->setToolTip(tr("Zoom %1%, %2°%3")
                                 .arg(b.scale * 100, 0, 'g', 3)
                                 .arg(b.quarterTurns * 90)
                                 .arg(b.slice > 0 ? tr(", slice %1").arg(b.slice + 1) : QString()));
        }
    list_->setCurrentRow(std::min(current, list_->count() - 1));
    rebuilding_ = false;
    updateButtons();
}

void BookmarksDock::updateButtons() {
    const int row = list_->currentRow();
    const int n = list_->count();
    add_->setEnabled(bookmarks_ != nullptr);
    up_->setEnabled(row > 0);
    down_->setEnabled(row >= 0 && row + 1 < n);
    rename_->setEnabled(row >= 0);
    remove_->setEnabled(row >= 0);
}

void BookmarksDock::moveCurrent(int delta) {
    const int row = list_->currentRow();
    if (!bookmarks_ || row < 0 || row + delta < 0 || row + delta >= bookmarks_->count()) return;
    bookmarks_->move(row, row + delta);
    list_->setCurrentRow(row + delta);
}

void BookmarksDock::editName(int index) {
    if (QListWidgetItem* item = list_->item(index)) {
        list_->setCurrentItem(item);
        list_->editItem(item);
    }
}

namespace {

// A deletion, undone by putting the same bookmark back at the same place.
class RemoveBookmark : public QUndoCommand {
public:
    RemoveBookmark(ViewBookmarks* bookmarks, int index)
        : QUndoCommand(QObject::tr("Delete Bookmark")),
          bookmarks_(bookmarks),
          index_(index),
          bookmark_(bookmarks->items()[std::size_t(index)]) {}
    void redo() override {
        if (bookmarks_) bookmarks_->remove(index_);
    }
    void undo() override {
        if (bookmarks_) bookmarks_->insert(index_, bookmark_);
    }

private:
    QPointer<ViewBookmarks> bookmarks_;
    int index_;
    Bookmark bookmark_;
};

}  // namespace

void BookmarksDock::removeCurrent() {
    const int row = list_->currentRow();
    if (!bookmarks_ || row < 0) return;
    undo_->push(new RemoveBookmark(bookmarks_, row));
}

}  // namespace lucida::ui
