#include "Presenter.h"

#include "BookmarkMover.h"
#include "BookmarkViewState.h"
#include "BookmarksDock.h"
#include "PresentationMode.h"
#include "ResultsLocation.h"
#include "SlideView.h"
#include "ViewBookmarks.h"

#include <QAction>
#include <QMainWindow>
#include <QMenu>
#include <QStatusBar>
#include <QTabWidget>

namespace lucida::ui {

Presenter::Presenter(QMainWindow* window, QTabWidget* tabs, ModelSession* session)
    : QObject(window),
      window_(window),
      tabs_(tabs),
      session_(session),
      dock_(new BookmarksDock(window)),
      mover_(new BookmarkMover(this)) {
    presentation_ =
        new PresentationMode(window, tabs, session,
                             [this](SlideView* v, int i, bool animate) { goToIn(v, i, animate); });
    connect(dock_, &BookmarksDock::addRequested, this, [this] { addBookmark(); });
    connect(dock_, &BookmarksDock::goToRequested, this, [this](int i) { goTo(i); });
    connect(mover_, &BookmarkMover::arrived, presentation_, &PresentationMode::updateDecorations);
}

void Presenter::addActions(QMenu* menu) {
    add_ = menu->addAction(tr("Add &Bookmark"), this, [this] {
        const int index = addBookmark();
        if (index < 0) return;
        if (!presentation_->isActive()) {
            dock_->show();
            dock_->raise();
            dock_->editName(index);  // type its name at once
        }
    });
    add_->setObjectName("addBookmarkAction");
    add_->setShortcut(QKeySequence("Ctrl+B"));
    add_->setStatusTip(tr("Keep this view (position, zoom, rotation, slice, heat) with the image"));
    present_ = menu->addAction(tr("&Present"), this, &Presenter::togglePresentation);
    present_->setObjectName("presentAction");
    present_->setShortcut(QKeySequence(Qt::Key_F5));
    present_->setStatusTip(
        tr("Full screen with the image only; Page Down/Up step through the "
           "bookmarks, Esc leaves"));
    window_->addActions({add_, present_});  // still there when presentation hides the menus
}

void Presenter::attach(SlideView* view) {
    const QString path = view->document()->path();
    auto* bookmarks =
        new ViewBookmarks(view, bookmarkFilePath(resultsRootFor(path, savedResultsPlace()), path));
    connect(bookmarks, &ViewBookmarks::saveFailed, this, [this](const QString& message) {
        emit errorOccurred(tr("Cannot save the bookmarks"), message);
    });
    if (!bookmarks->loadError().isEmpty())
        emit errorOccurred(tr("Cannot read the bookmarks"), bookmarks->loadError());
    if (view == current_) dock_->setBookmarks(bookmarks);  // the window showed it before this
}

void Presenter::setCurrentView(SlideView* view) {
    if (presentation_->isActive() && view != current_) presentation_->leave();
    mover_->finish();
    current_ = view;
    dock_->setBookmarks(ViewBookmarks::of(view));
}

int Presenter::addBookmark() {
    ViewBookmarks* bookmarks = ViewBookmarks::of(current_);
    if (!bookmarks) return -1;
    mover_->finish();  // the view where it is going, not half-way
    const int index = bookmarks->add(captureBookmark(*current_, session_, window_));
    window_->statusBar()->showMessage(
        tr("Bookmark “%1” added").arg(QString::fromStdString(bookmarks->items()[index].name)),
        5000);
    return index;
}

void Presenter::goTo(int index, bool animate) { goToIn(current_, index, animate); }

void Presenter::goToIn(SlideView* view, int index, bool animate) {
    ViewBookmarks* bookmarks = ViewBookmarks::of(view);
    if (!bookmarks || index < 0 || index >= bookmarks->count()) return;
    const Bookmark b = bookmarks->items()[std::size_t(index)];
    mover_->finish();
    applyBookmarkSettings(b, *view, session_, window_);
    mover_->moveTo(view, b, animate ? BookmarkMover::kDefaultMs : 0);
}

void Presenter::togglePresentation() {
    if (presentation_->isActive()) {
        presentation_->leave();
        return;
    }
    if (!current_) {
        window_->statusBar()->showMessage(tr("Open an image to present it"), 5000);
        return;
    }
    presentation_->enter(current_);
}

}  // namespace lucida::ui
