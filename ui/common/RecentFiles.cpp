#include "RecentFiles.h"

#include <QFileInfo>
#include <QSettings>

namespace lucida::ui {

RecentFiles::RecentFiles(QObject* parent) : RecentFiles("recentFiles", kMaxEntries, parent) {}

RecentFiles::RecentFiles(QString key, int maxEntries, QObject* parent)
    : QObject(parent), key_(std::move(key)), maxEntries_(maxEntries) {}

QStringList RecentFiles::files() const { return QSettings().value(key_).toStringList(); }

void RecentFiles::add(const QString& path) {
    const QString absolute = QFileInfo(path).absoluteFilePath();
    QStringList list = files();
    list.removeAll(absolute);
    list.prepend(absolute);
    while (list.size() > maxEntries_) list.removeLast();
    store(list);
}

void RecentFiles::remove(const QString& path) {
    QStringList list = files();
    list.removeAll(QFileInfo(path).absoluteFilePath());
    store(list);
}

void RecentFiles::clear() { store({}); }

void RecentFiles::store(const QStringList& list) {
    QSettings().setValue(key_, list);
    emit changed();
}

}  // namespace lucida::ui
