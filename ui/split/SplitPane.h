#pragma once

#include <QWidget>

namespace lucida::ui {

class ModelSession;
class PaneHeader;
class SlideView;

// One pane of a SplitView: its header (model, method, class, layer, link) over a SlideView of
// the image. The first pane is the tab's own view with the window's session; the others have an
// ImageDocument, a ModelSession (not remembered in QSettings) and an AnalysisController of
// their own, all children of the pane.
class SplitPane : public QWidget {
    Q_OBJECT
public:
    SplitPane(SlideView* view, ModelSession* session, ModelSession* window,
              QWidget* parent = nullptr);

    SlideView* view() const { return view_; }
    ModelSession* session() const { return session_; }
    PaneHeader* header() const { return header_; }
    bool isLinked() const;
    void setLinked(bool linked);
    void setHeaderShown(bool shown);

signals:
    void linkedChanged(bool linked);

private:
    SlideView* view_;
    ModelSession* session_;
    PaneHeader* header_;
};

}  // namespace lucida::ui
