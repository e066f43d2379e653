#include "SplitView.h"

#include "ImageDocument.h"
#include "ModelSession.h"
#include "PaneHeader.h"
#include "SlideView.h"
#include "SplitPane.h"

#include <QGridLayout>
#include <QSettings>

namespace lucida::ui {

namespace {
// A pane's choices outlive the window (QSettings), by its place: "split/pane2/method"...
QString paneKey(int index, const char* name) {
    return QStringLiteral("split/pane%1/%2").arg(index + 1).arg(QLatin1String(name));
}

// A pane's session starts as the window's: same analysis and display settings.
void copySettings(const ModelSession& from, ModelSession& to) {
    to.setMethod(from.method());
    to.setEigenSmooth(from.eigenSmooth());
    to.setFlipSmooth(from.flipSmooth());
    to.setClassIndex(from.classIndex());
    to.setFit(from.fit());
    to.setOverlap(from.overlap());
    to.setMode(from.mode());
    to.setInt8(from.int8());
    to.setLayer(from.layer());
    to.setNormalisation(from.normalisation());
    to.setColourMap(from.colourMap());
    to.setOpacity(from.opacity());
    to.setThreshold(from.threshold());
    to.setLive(from.isLive());
}

// The window's model, already open, is shared rather than opened again; any other model is
// opened by the window's loader (off the GUI thread).
ModelLoader sharedLoader(ModelSession* window) {
    return [window, base = window->loader()](const QString& path) {
        if (window->model() && window->path() == path)
            return QtFuture::makeReadyFuture(ModelLoad{path, window->model(), {}});
        return base(path);
    };
}
}  // namespace

SplitView::SplitView(SlideView* primary, ModelSession* window, PaneHook hook, QWidget* parent)
    : QWidget(parent), window_(window), hook_(std::move(hook)), grid_(new QGridLayout(this)) {
    setObjectName("splitView");
    grid_->setContentsMargins(0, 0, 0, 0);
    grid_->setSpacing(3);
    auto* first = new SplitPane(primary, window, window, this);
    panes_ << first;
    connect(primary, &SlideView::viewChanged, this, [this, first] { paneMoved(first); });
    connect(primary->document(), &ImageDocument::sliceChanged, this,
            [this, first] { sliceMoved(first); });
    connect(primary->document(), &ImageDocument::windowChanged, this,
            [this, first] { sliceMoved(first); });
    connect(first, &SplitPane::linkedChanged, this, [this, first] { relink(first); });
    layOut();
}

SlideView* SplitView::viewIn(QWidget* page) {
    if (auto* view = qobject_cast<SlideView*>(page)) return view;
    if (auto* split = qobject_cast<SplitView*>(page)) return split->primary();
    return nullptr;
}

SlideView* SplitView::primary() const { return panes_.first()->view(); }

void SplitView::setPaneCount(int count) {
    count = count >= kMaxPanes ? kMaxPanes : count >= 2 ? 2 : 1;
    if (count == paneCount()) return;
    while (paneCount() > count) delete panes_.takeLast();  // its analysis stops with it
    while (paneCount() < count) addPane();
    layOut();
    emit paneCountChanged(count);
}

SplitPane* SplitView::addPane() {
    const int index = paneCount();
    SlideView* primary = this->primary();
    ImageDocument* original = primary->document();
    auto* document = new ImageDocument(original->source());
    document->setSlice(original->slice());
    document->setWindow(original->window().centre, original->window().width,
                        QString::fromStdString(original->window().name));
    auto* view = new SlideView(document, primary->tileService());
    document->setParent(view);
    auto* session = new ModelSession(sharedLoader(window_));
    session->setRemembered(false);
    copySettings(*window_, *session);
    restorePaneSettings(index, session);
    auto* pane = new SplitPane(view, session, window_, this);
    session->setParent(pane);
    panes_ << pane;
    if (hook_) hook_(view, session);
    connect(view, &SlideView::viewChanged, this, [this, pane] { paneMoved(pane); });
    connect(document, &ImageDocument::sliceChanged, this, [this, pane] { sliceMoved(pane); });
    connect(document, &ImageDocument::windowChanged, this, [this, pane] { sliceMoved(pane); });
    connect(pane, &SplitPane::linkedChanged, this, [this, pane] { relink(pane); });
    connect(session, &ModelSession::analysisChanged, this,
            [this, index, session] { keepPaneSettings(index, session); });
    connect(session, &ModelSession::displayChanged, this,
            [this, index, session] { keepPaneSettings(index, session); });
    follow(pane, panes_.first());
    return pane;
}

// 1: the view alone (no header); 2: side by side; 4: two by two.
void SplitView::layOut() {
    for (int i = 0; i < paneCount(); ++i) {
        grid_->removeWidget(panes_[i]);
        grid_->addWidget(panes_[i], i / 2, i % 2);
        panes_[i]->setHeaderShown(paneCount() > 1);
    }
    for (int i = 0; i < 2; ++i) {
        grid_->setColumnStretch(i, i < paneCount() ? 1 : 0);
        grid_->setRowStretch(i, i * 2 < paneCount() ? 1 : 0);
    }
}

void SplitView::paneMoved(SplitPane* from) {
    if (syncing_ || !from->isLinked()) return;
    for (SplitPane* pane : panes_)
        if (pane != from && pane->isLinked()) follow(pane, from);
}

void SplitView::sliceMoved(SplitPane* from) {
    if (syncing_ || !from->isLinked()) return;
    syncing_ = true;
    const ImageDocument* source = from->view()->document();
    for (SplitPane* pane : panes_) {
        if (pane == from || !pane->isLinked()) continue;
        ImageDocument* document = pane->view()->document();
        document->setSlice(source->slice());
        document->setWindow(source->window().centre, source->window().width,
                            QString::fromStdString(source->window().name));
    }
    syncing_ = false;
}

// Linked again: the pane takes the view of the other linked panes (the first one's).
void SplitView::relink(SplitPane* pane) {
    if (!pane->isLinked()) return;
    for (SplitPane* other : panes_)
        if (other != pane && other->isLinked()) {
            follow(pane, other);
            return;
        }
}

// `to` looks where `from` looks: rotation, zoom and centre, then slice and grey window. Its own
// signals on the way are not moves of its own (half a copy would move the others back).
void SplitView::follow(SplitPane* to, const SplitPane* from) {
    const bool wasSyncing = syncing_;
    syncing_ = true;
    SlideView* view = to->view();
    const ViewGeometry& g = from->view()->viewGeometry();
    for (int turns = 0; turns < 4 && view->viewGeometry().quarterTurns != g.quarterTurns; ++turns)
        view->rotateClockwise();
    view->setScale(g.scale);
    view->setCentre(g.centreX, g.centreY);
    const ImageDocument* source = from->view()->document();
    view->document()->setSlice(source->slice());
    view->document()->setWindow(source->window().centre, source->window().width,
                                QString::fromStdString(source->window().name));
    syncing_ = wasSyncing;
}

void SplitView::restorePaneSettings(int index, ModelSession* session) const {
    const QSettings settings;
    if (const QString method = settings.value(paneKey(index, "method")).toString();
        !method.isEmpty())
        session->setMethod(method);
    if (settings.contains(paneKey(index, "layer")))
        session->setLayer(settings.value(paneKey(index, "layer")).toInt() == 1
                              ? ShownHeat::Probability
                              : ShownHeat::Cam);
}

void SplitView::keepPaneSettings(int index, const ModelSession* session) const {
    QSettings settings;
    settings.setValue(paneKey(index, "method"), session->method());
    settings.setValue(paneKey(index, "layer"), session->layer() == ShownHeat::Probability ? 1 : 0);
}

}  // namespace lucida::ui
