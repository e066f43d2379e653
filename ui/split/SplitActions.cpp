#include "SplitActions.h"

#include "SlideView.h"

#include <QAction>
#include <QActionGroup>
#include <QMenu>
#include <QSettings>
#include <QSignalBlocker>
#include <QTabWidget>

namespace lucida::ui {

namespace {
constexpr char kPanesKey[] = "split/panes";
}

SplitActions::SplitActions(QTabWidget* tabs, ModelSession* window, SplitView::PaneHook hook,
                           QObject* parent)
    : QObject(parent),
      tabs_(tabs),
      window_(window),
      hook_(std::move(hook)),
      group_(new QActionGroup(this)) {
    struct Choice {
        int panes;
        const char* name;
        QString text;
    };
    const Choice choices[] = {{1, "splitSingleAction", tr("&Single View")},
                              {2, "splitTwoAction", tr("&Two Panes")},
                              {4, "splitFourAction", tr("&Four Panes")}};
    for (const Choice& c : choices) {
        auto* action = new QAction(c.text, group_);
        action->setObjectName(c.name);
        action->setCheckable(true);
        action->setData(c.panes);
        action->setShortcut(QKeySequence(QStringLiteral("Ctrl+Alt+%1").arg(c.panes)));
        action->setStatusTip(
            tr("Show this image in %n pane(s), each with its own heat", "", c.panes));
        connect(action, &QAction::triggered, this, [this, panes = c.panes] { split(panes); });
    }
    connect(tabs_, &QTabWidget::currentChanged, this, &SplitActions::showCurrent);
    showCurrent();
}

void SplitActions::addTo(QMenu* view) {
    QMenu* menu = view->addMenu(tr("&Split"));
    menu->setObjectName("splitMenu");
    menu->addActions(group_->actions());
}

int SplitActions::savedPaneCount() { return QSettings().value(kPanesKey, 1).toInt(); }

void SplitActions::split(int panes) {
    QSettings().setValue(kPanesKey, panes);
    if (tabs_->currentIndex() >= 0) splitTab(tabs_->currentIndex(), panes);
    showCurrent();
}

void SplitActions::applySaved(SlideView* view) {
    const int panes = savedPaneCount();
    const int index = tabs_->indexOf(view);
    if (panes > 1 && index >= 0) splitTab(index, panes);
    showCurrent();
}

SplitView* SplitActions::splitOf(int tabIndex) const {
    return qobject_cast<SplitView*>(tabs_->widget(tabIndex));
}

SplitView* SplitActions::splitTab(int index, int panes) {
    SplitView* split = splitOf(index);
    if (!split) {
        if (panes <= 1) return nullptr;
        auto* view = qobject_cast<SlideView*>(tabs_->widget(index));
        if (!view) return nullptr;
        // The same tab, view and current index: the window need not hear of the swap.
        const QSignalBlocker block(tabs_);
        const bool current = tabs_->currentIndex() == index;
        const QString text = tabs_->tabText(index), tip = tabs_->tabToolTip(index);
        tabs_->removeTab(index);
        split = new SplitView(view, window_, hook_);
        view->show();
        tabs_->insertTab(index, split, text);
        tabs_->setTabToolTip(index, tip);
        if (current) tabs_->setCurrentIndex(index);
    }
    split->setPaneCount(panes);
    return split;
}

void SplitActions::showCurrent() {
    SplitView* split = splitOf(tabs_->currentIndex());
    const int panes = split ? split->paneCount() : 1;
    for (QAction* a : group_->actions()) {
        a->setEnabled(tabs_->currentIndex() >= 0);
        a->setChecked(a->data().toInt() == panes);
    }
}

}  // namespace lucida::ui
