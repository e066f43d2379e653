#include "ProjectMenu.h"

#include "ProjectDock.h"
#include "RecentFiles.h"

#include <QAction>
#include <QFileDialog>
#include <QFileInfo>
#include <QMenu>
#include <QMessageBox>

namespace lucida::ui {

ProjectMenu::ProjectMenu(ProjectDock* dock, QWidget* window)
    : QObject(window),
      dock_(dock),
      window_(window),
      recent_(new RecentFiles(QStringLiteral("recentProjects"), RecentFiles::kMaxEntries, this)) {
    connect(recent_, &RecentFiles::changed, this, &ProjectMenu::rebuildRecent);
}

void ProjectMenu::addTo(QMenu* file) {
    // Before the separator above Close Tab, so Close Tab and Quit stay last.
    QAction* before = nullptr;
    const QList<QAction*> actions = file->actions();
    for (qsizetype i = 1; i < actions.size(); ++i)
        if (actions[i]->shortcut() == QKeySequence(QKeySequence::Close) &&
            actions[i - 1]->isSeparator())
            before = actions[i - 1];
    const auto add = [file, before](QAction* action) { file->insertAction(before, action); };
    const auto item = [&](const QString& text, const char* name, auto slot) {
        auto* action = new QAction(text, file);
        action->setObjectName(name);
        connect(action, &QAction::triggered, this, slot);
        add(action);
    };
    file->insertSeparator(before);
    item(tr("New Project from F&older…"), "newProjectFromFolder", [this] { newProject(true); });
    item(tr("New Project from &Manifest (CSV)…"), "newProjectFromManifest",
         [this] { newProject(false); });
    item(tr("Open &Project…"), "openProject", [this] { chooseProject(); });
    recentMenu_ = new QMenu(tr("Open Recent Pro&ject"), file);
    add(recentMenu_->menuAction());
    dock_->toggleViewAction()->setText(tr("Project &Dock"));
    add(dock_->toggleViewAction());
    rebuildRecent();
}

bool ProjectMenu::open(const QString& path) {
    try {
        dock_->openProject(path);
    } catch (const std::exception& e) {
        QMessageBox::warning(window_, tr("Cannot open the project"),
                             QString::fromStdString(e.what()));
        return false;
    }
    recent_->add(QFileInfo(path).absoluteFilePath());
    dock_->show();
    dock_->raise();
    return true;
}

void ProjectMenu::newProject(bool fromFolder) {
    const QString source =
        fromFolder ? QFileDialog::getExistingDirectory(window_, tr("Images of the Project"))
                   : QFileDialog::getOpenFileName(
                         window_, tr("Manifest of the Project"), {},
                         tr("Manifests (path[,label[,group]]) (*.csv *.txt);;All files (*)"));
    if (source.isEmpty()) return;
    const QFileInfo info(source);
    const QString suggested = (fromFolder ? info.absoluteFilePath() + "/" + info.fileName()
                                          : info.absolutePath() + "/" + info.completeBaseName()) +
                              ".lucida-project.json";
    const QString target = QFileDialog::getSaveFileName(window_, tr("Save the Project As"),
                                                        suggested, tr("Projects (*.json)"));
    if (target.isEmpty()) return;
    try {
        dock_->createProject(source, target);
    } catch (const std::exception& e) {
        QMessageBox::warning(window_, tr("Cannot make the project"),
                             QString::fromStdString(e.what()));
        return;
    }
    recent_->add(QFileInfo(target).absoluteFilePath());
    dock_->show();
    dock_->raise();
}

void ProjectMenu::chooseProject() {
    const QString path = QFileDialog::getOpenFileName(window_, tr("Open Project"), {},
                                                      tr("Projects (*.json);;All files (*)"));
    if (!path.isEmpty()) open(path);
}

void ProjectMenu::rebuildRecent() {
    if (!recentMenu_) return;
    recentMenu_->clear();
    const QStringList files = recent_->files();
    for (const QString& path : files)
        recentMenu_
            ->addAction(QFileInfo(path).fileName(), this,
                        [this, path] {
                            if (!open(path)) recent_->remove(path);
                        })
            ->setToolTip(path);
    if (!files.isEmpty()) {
        recentMenu_->addSeparator();
        recentMenu_->addAction(tr("Clear Menu"), recent_, &RecentFiles::clear);
    }
    recentMenu_->setEnabled(!files.isEmpty());
}

}  // namespace lucida::ui
