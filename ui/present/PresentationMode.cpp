#include "PresentationMode.h"

#include "HeatmapOverlay.h"
#include "ModelSession.h"
#include "PresentationLayer.h"
#include "SceneRenderer.h"
#include "SlideView.h"
#include "ViewBookmarks.h"

#include <QAction>
#include <QApplication>
#include <QDockWidget>
#include <QKeyEvent>
#include <QMainWindow>
#include <QMenuBar>
#include <QStatusBar>
#include <QTabBar>
#include <QTabWidget>
#include <QToolBar>

namespace lucida::ui {

namespace {
// saveState's version for the window's look before presenting (never stored).
constexpr int kStateVersion = 0x5052;

enum class Key { None, Next, Previous, First, Last, Leave };

Key presentationKey(const QKeyEvent& e) {
    if (e.modifiers() & (Qt::ControlModifier | Qt::AltModifier | Qt::MetaModifier))
        return Key::None;
    switch (e.key()) {
        case Qt::Key_PageDown:
        case Qt::Key_Right:
        case Qt::Key_Down:
        case Qt::Key_Space:
            return Key::Next;
        case Qt::Key_PageUp:
        case Qt::Key_Left:
        case Qt::Key_Up:
        case Qt::Key_Backspace:
            return Key::Previous;
        case Qt::Key_Home:
            return Key::First;
        case Qt::Key_End:
            return Key::Last;
        case Qt::Key_Escape:
            return Key::Leave;
        default:
            return Key::None;
    }
}
}  // namespace

PresentationMode::PresentationMode(QMainWindow* window, QTabWidget* tabs, ModelSession* session,
                                   GoTo goTo)
    : QObject(window), window_(window), tabs_(tabs), session_(session), goTo_(std::move(goTo)) {
    if (session_)
        connect(session_, &ModelSession::displayChanged, this,
                &PresentationMode::updateDecorations);
}

PresentationMode::~PresentationMode() {
    if (view_ && layer_) view_->renderer().removeLayer(layer_.get());
}

ViewBookmarks* PresentationMode::bookmarks() const { return ViewBookmarks::of(view_); }

void PresentationMode::enter(SlideView* view) {
    if (!view || isActive()) return;
    view_ = view;
    index_ = -1;
    dockState_ = window_->saveState(kStateVersion);
    windowState_ = window_->windowState();
    menuBarShown_ = window_->menuBar()->isVisible();
    statusBarShown_ = window_->statusBar()->isVisible();
    tabBarShown_ = tabs_->tabBar()->isVisible();
    for (QDockWidget* dock : window_->findChildren<QDockWidget*>()) dock->hide();
    for (QToolBar* bar : window_->findChildren<QToolBar*>()) bar->hide();
    window_->menuBar()->hide();
    window_->statusBar()->hide();
    tabs_->tabBar()->hide();

    layer_ = std::make_unique<PresentationLayer>(view->document());
    if (auto* overlay = dynamic_cast<HeatmapOverlay*>(view->overlay()))  // heat arriving: legend
        overlayConnection_ =
            connect(overlay, &HeatmapOverlay::changed, this, &PresentationMode::updateDecorations);
    view->renderer().scaleBarLayer().setVisible(false);  // the large one replaces it
    view->renderer().addLayer(layer_.get(), SceneRenderer::kDecorationDepth);
    updateDecorations();
    window_->showFullScreen();
    view->setFocus();
    qApp->installEventFilter(this);
    emit activeChanged(true);
}

void PresentationMode::leave() {
    if (!view_ && !layer_) return;
    qApp->removeEventFilter(this);
    disconnect(overlayConnection_);
    if (view_) {
        view_->renderer().removeLayer(layer_.get());
        view_->renderer().scaleBarLayer().setVisible(true);
        view_->update();
    }
    layer_.reset();
    view_ = nullptr;
    window_->setWindowState(windowState_);
    window_->menuBar()->setVisible(menuBarShown_);
    window_->statusBar()->setVisible(statusBarShown_);
    tabs_->tabBar()->setVisible(tabBarShown_);
    for (QToolBar* bar : window_->findChildren<QToolBar*>()) bar->show();
    window_->restoreState(dockState_, kStateVersion);  // docks and toolbars as they were
    emit activeChanged(false);
}

void PresentationMode::show(int index, bool animate) {
    ViewBookmarks* list = bookmarks();
    if (!list || index < 0 || index >= list->count()) return;
    index_ = index;
    goTo_(view_, index, animate);
    updateDecorations();
}

void PresentationMode::step(int delta) {
    ViewBookmarks* list = bookmarks();
    if (!list || list->count() == 0) return;
    const int target = std::clamp(index_ + delta, 0, list->count() - 1);
    if (target != index_) show(target);
}

void PresentationMode::updateDecorations() {
    if (!layer_ || !view_) return;
    ViewBookmarks* list = bookmarks();
    QString caption;
    if (list && index_ >= 0 && index_ < list->count())
        caption = tr("%1   %2 / %3")
                      .arg(QString::fromStdString(list->items()[std::size_t(index_)].name))
                      .arg(index_ + 1)
                      .arg(list->count());
    else if (list && list->count() > 0)
        caption = tr("%n bookmark(s): Page Down to begin", "", list->count());
    layer_->setCaption(caption);
    const QAction* heatShown = window_->findChild<QAction*>("showHeatmapAction");
    const auto* overlay = dynamic_cast<const HeatmapOverlay*>(view_->overlay());
    const bool heat =
        session_ && overlay && !overlay->isEmpty() && heatShown && heatShown->isChecked();
    if (heat) {
        const QString layerName = session_->layer() == ShownHeat::Probability
                                      ? tr("Probability")
                                      : tr("Heat (%1)").arg(session_->method());
        layer_->setLegend(session_->colourMap(), layerName, session_->threshold());
    } else {
        layer_->setLegend(std::nullopt, {}, 0);
    }
    view_->update();
}

bool PresentationMode::eventFilter(QObject* watched, QEvent* event) {
    if (event->type() != QEvent::ShortcutOverride && event->type() != QEvent::KeyPress)
        return false;
    auto* widget = qobject_cast<QWidget*>(watched);
    if (!widget || widget->window() != window_) return false;  // a dialog keeps its keys
    const Key key = presentationKey(*static_cast<QKeyEvent*>(event));
    if (key == Key::None) return false;
    event->accept();
    if (event->type() == QEvent::ShortcutOverride) return true;  // the key press comes to us
    switch (key) {
        case Key::Next:
            next();
            break;
        case Key::Previous:
            previous();
            break;
        case Key::First:
            show(0);
            break;
        case Key::Last:
            if (ViewBookmarks* list = bookmarks()) show(list->count() - 1);
            break;
        case Key::Leave:
            leave();
            break;
        case Key::None:
            break;
    }
    return true;
}

}  // namespace lucida::ui
