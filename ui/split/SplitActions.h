#pragma once

#include "SplitView.h"

#include <QObject>

class QActionGroup;
class QMenu;
class QTabWidget;

namespace lucida::ui {

// View ▸ Split: Single View (Ctrl+Alt+1), Two Panes (Ctrl+Alt+2), Four Panes (Ctrl+Alt+4) for
// the current tab. The first split of a tab puts a SplitView in place of its SlideView (the view
// moves into the first pane; SplitView::viewIn finds it). The choice persists in QSettings
// ("split/panes") and newly opened images open with it.
class SplitActions : public QObject {
    Q_OBJECT
public:
    SplitActions(QTabWidget* tabs, ModelSession* window, SplitView::PaneHook hook,
                 QObject* parent = nullptr);

    void addTo(QMenu* view);  // the Split submenu
    // The current tab in `panes` panes (remembered for the next images).
    void split(int panes);
    // A newly opened image's tab (in `view`): split as the last choice was.
    void applySaved(SlideView* view);
    static int savedPaneCount();
    SplitView* splitOf(int tabIndex) const;  // null: that tab is not split

private:
    SplitView* splitTab(int index, int panes);
    void showCurrent();  // tick the current tab's choice

    QTabWidget* tabs_;
    ModelSession* window_;
    SplitView::PaneHook hook_;
    QActionGroup* group_;
};

}  // namespace lucida::ui
