#pragma once

// File ▸ New Project from Folder… / from Manifest…, Open Project… and Open Recent Project: the
// dialogs around ProjectDock, with errors shown as dialogs naming the file and the reason.

#include <QObject>

class QMenu;
class QWidget;

namespace lucida::ui {

class ProjectDock;
class RecentFiles;

class ProjectMenu : public QObject {
    Q_OBJECT
public:
    ProjectMenu(ProjectDock* dock, QWidget* window);
    void addTo(QMenu* file);         // the actions, at the end of `file`
    bool open(const QString& path);  // false: shown as an error

private:
    void newProject(bool fromFolder);
    void chooseProject();
    void rebuildRecent();

    ProjectDock* dock_;
    QWidget* window_;
    RecentFiles* recent_;
    QMenu* recentMenu_ = nullptr;
};

}  // namespace lucida::ui
