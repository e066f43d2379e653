#pragma once

#include <QList>
#include <QWidget>

#include <functional>

class QGridLayout;

namespace lucida::ui {

class ModelSession;
class SlideView;
class SplitPane;

// View ▸ Split: one image in 1, 2 or 4 panes, each a SlideView with heat of its own (model,
// method, class or layer: PaneHeader) and the same centre, zoom, rotation, slice and grey window
// as every other linked pane — a move in one is copied exactly into the others' ViewGeometry.
// A pane unlinked moves alone; linked again, it takes the linked panes' view. The first pane is
// the tab's own SlideView (the one the window's menus, panel and docks act on).
class SplitView : public QWidget {
    Q_OBJECT
public:
    static constexpr int kMaxPanes = 4;
    // Gives a new pane its analysis (ModelTools::attachPane: an AnalysisController on its
    // session; none without LibTorch).
    using PaneHook = std::function<void(SlideView* pane, ModelSession* session)>;

    SplitView(SlideView* primary, ModelSession* window, PaneHook hook, QWidget* parent = nullptr);

    // A tab's page: the SlideView itself, or a split's first pane (null: neither).
    static SlideView* viewIn(QWidget* page);

    SlideView* primary() const;
    int paneCount() const { return int(panes_.size()); }
    SplitPane* pane(int index) const { return panes_.value(index); }
    void setPaneCount(int count);  // 1, 2 or 4

signals:
    void paneCountChanged(int count);

private:
    SplitPane* addPane();
    void layOut();
    void paneMoved(SplitPane* from);
    void sliceMoved(SplitPane* from);
    void relink(SplitPane* pane);
    void follow(SplitPane* to, const SplitPane* from);
    void restorePaneSettings(int index, ModelSession* session) const;
    void keepPaneSettings(int index, const ModelSession* session) const;

    ModelSession* window_;
    PaneHook hook_;
    QGridLayout* grid_;
    QList<SplitPane*> panes_;
    bool syncing_ = false;  // copying a move: the copies' own signals are not moves
};

}  // namespace lucida::ui
