#pragma once

#include <QList>
#include <QObject>
#include <QPointer>

namespace lucida::ui {

class ModelTools;
class ProjectDock;
class SlideView;

// Open images of the open project are analysed as the project's queue and `lucida-cli batch`
// analyse them: results in the project's results folder, the image's own settings over the
// window's (ModelTools::setResultsRoot / setImageSettings). Applied when an image opens, when a
// project opens, and when an image's settings change — in the Project dock's Image Settings… or
// through the Analysis panel's Edit…, whose dialog this opens. An own pixel size applies to an
// image opened from the project (MainWindow::openProjectImage).
class ProjectViews : public QObject {
    Q_OBJECT
public:
    ProjectViews(ProjectDock* dock, ModelTools* tools, QObject* parent = nullptr);

    void attach(SlideView* view);  // a newly opened image

private:
    void apply(SlideView* view);
    void edit(SlideView* view);

    ProjectDock* dock_;
    ModelTools* tools_;
    QList<QPointer<SlideView>> views_;
};

}  // namespace lucida::ui
