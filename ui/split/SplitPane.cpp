#include "SplitPane.h"

#include "ModelSession.h"
#include "PaneHeader.h"
#include "SlideView.h"

#include <QComboBox>
#include <QToolButton>
#include <QVBoxLayout>

namespace lucida::ui {

SplitPane::SplitPane(SlideView* view, ModelSession* session, ModelSession* window, QWidget* parent)
    : QWidget(parent), view_(view), session_(session), header_(new PaneHeader(session, window)) {
    setObjectName("splitPane");
    auto* column = new QVBoxLayout(this);
    column->setContentsMargins(0, 0, 0, 0);
    column->setSpacing(0);
    column->addWidget(header_);
    column->addWidget(view_, 1);
    connect(header_->linkButton(), &QToolButton::toggled, this, &SplitPane::linkedChanged);
    // The window's own pane takes its model from the Analysis panel only.
    if (session == window) header_->modelCombo()->setEnabled(false);
    if (session != window) {
        connect(header_, &PaneHeader::modelChosen, session_,
                [this](const QString& path) { session_->open(path); });
        auto followWindow = [this, window] {
            if (header_->followsWindowModel() && window->model()) session_->open(window->path());
        };
        connect(header_, &PaneHeader::windowModelChosen, this, followWindow);
        connect(window, &ModelSession::modelOpened, this, followWindow);
        followWindow();
    }
}

bool SplitPane::isLinked() const { return header_->linkButton()->isChecked(); }

void SplitPane::setLinked(bool linked) { header_->linkButton()->setChecked(linked); }

void SplitPane::setHeaderShown(bool shown) { header_->setVisible(shown); }

}  // namespace lucida::ui
