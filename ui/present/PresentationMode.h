#pragma once
// Presentation mode (F5; Esc leaves): the window full screen with only the image, a large scale
// bar, the heat legend and the bookmark's name; Page Down/Up, the arrow keys or Space step
// through the image's bookmarks with a smooth move. While presenting, those keys are the
// presentation's (Page Up/Down change slices otherwise); everything hidden comes back on leaving.

#include <QByteArray>
#include "SlideView.h"

#include <QObject>
#include <QPointer>

#include <functional>
#include <memory>

class QMainWindow;
class QTabWidget;

namespace lucida::ui {

class ModelSession;
class PresentationLayer;
class SlideView;
class ViewBookmarks;

class PresentationMode : public QObject {
    Q_OBJECT
public:
    // `goTo(view, index, animate)` shows bookmark `index` of `view`, with a smooth move or at once.
    using GoTo = std::function<void(SlideView* view, int index, bool animate)>;
    PresentationMode(QMainWindow* window, QTabWidget* tabs, ModelSession* session, GoTo goTo);
    ~PresentationMode() override;

    bool isActive() const { return bool(view_); }
    void enter(SlideView* view);
    void leave();
    int index() const { return index_; }  // the bookmark shown; -1: none yet
    void next() { step(+1); }
    void previous() { step(-1); }
    void show(int index, bool animate = true);
    PresentationLayer* layer() const { return layer_.get(); }
    void updateDecorations();  // caption and legend from the bookmark and the heat shown

signals:
    void activeChanged(bool active);

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    void step(int delta);
    ViewBookmarks* bookmarks() const;

    QMainWindow* window_;
    QTabWidget* tabs_;
    ModelSession* session_;
    GoTo goTo_;
    QPointer<SlideView> view_;
    QMetaObject::Connection overlayConnection_;
    std::unique_ptr<PresentationLayer> layer_;
    int index_ = -1;
    // What the window looked like before: restored on leaving.
    QByteArray dockState_;
    Qt::WindowStates windowState_;
    bool menuBarShown_ = true, statusBarShown_ = true, tabBarShown_ = true;
};

}  // namespace lucida::ui
