#pragma once
// Moves a view to a bookmark with a smooth animated flight: the centre glides, the zoom changes
// geometrically (evenly in perceived size), eased in and out; at the end the view is exactly the
// bookmark's. A QVariantAnimation on the GUI thread: each frame only sets the view's geometry
// (tiles load on the loader's threads as always).

#include "bookmarks/Bookmark.h"

#include "SlideView.h"

#include <QObject>
#include <QPointer>

class QVariantAnimation;

namespace lucida::ui {

class SlideView;

class BookmarkMover : public QObject {
    Q_OBJECT
public:
    static constexpr int kDefaultMs = 700;

    explicit BookmarkMover(QObject* parent = nullptr);

    // From where `view` is now to `bookmark`'s centre and zoom (its other settings are the
    // caller's: applyBookmarkSettings). `ms` 0: at once. A move in progress is finished first.
    void moveTo(SlideView* view, const Bookmark& bookmark, int ms = kDefaultMs);
    void finish();  // jumps to the end of a move in progress
    bool isMoving() const;

signals:
    void arrived();

private:
    void step(double t);

    QVariantAnimation* animation_;
    QPointer<SlideView> view_;
    Bookmark target_;
    double fromX_ = 0, fromY_ = 0, fromScale_ = 1;
};

}  // namespace lucida::ui
