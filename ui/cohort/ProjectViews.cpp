#include "ProjectViews.h"

#include "ImageDocument.h"
#include "ModelTools.h"
#include "ProjectDock.h"
#include "SlideView.h"

#include <QFileInfo>

namespace lucida::ui {

ProjectViews::ProjectViews(ProjectDock* dock, ModelTools* tools, QObject* parent)
    : QObject(parent), dock_(dock), tools_(tools) {
    connect(dock_, &ProjectDock::projectOpened, this, [this] {
        for (SlideView* view : views_)
            if (view) apply(view);
    });
    connect(dock_, &ProjectDock::imageSettingsChanged, this, [this](const QString& path) {
        const QString changed = QFileInfo(path).absoluteFilePath();
        for (SlideView* view : views_)
            if (view && QFileInfo(view->document()->path()).absoluteFilePath() == changed)
                apply(view);
    });
    connect(tools_, &ModelTools::imageSettingsEditRequested, this, &ProjectViews::edit);
}

void ProjectViews::attach(SlideView* view) {
    views_.removeAll(nullptr);  // closed ones
    views_.append(view);
    apply(view);
}

void ProjectViews::apply(SlideView* view) {
    const QString path = view->document()->path();
    if (!dock_->resultsDir().isEmpty())
        if (const QString root = dock_->resultsRootOfImage(path); !root.isEmpty())
            tools_->setResultsRoot(view, root);
    // Not in the project (or none open): the window's settings.
    tools_->setImageSettings(view, dock_->imageSettingsOf(path));
}

void ProjectViews::edit(SlideView* view) {
    if (const int row = dock_->rowOfImage(view->document()->path()); row >= 0)
        dock_->editImageSettings({row});  // saved, then imageSettingsChanged applies them
}

}  // namespace lucida::ui
