#include "ViewBookmarks.h"

#include "SlideView.h"
#include "image/FileError.h"

#include <QDir>
#include <QFileInfo>

#include <algorithm>

namespace lucida::ui {

namespace {
constexpr const char* kPropertyName = "lucidaViewBookmarks";
}

QString bookmarkFilePath(const QString& resultsRoot, const QString& imagePath) {
    return resultsRoot + "/" + QFileInfo(imagePath).fileName() + ".bookmarks.json";
}

ViewBookmarks::ViewBookmarks(SlideView* view, const QString& path)
    : QObject(view), view_(view), path_(path) {
    view->setProperty(kPropertyName, QVariant::fromValue(static_cast<QObject*>(this)));
    if (path_.isEmpty() || !QFileInfo::exists(path_)) return;
    try {
        items_ = readBookmarksFile(path_.toStdString());
    } catch (const std::exception& e) {
        loadError_ = QString::fromStdString(e.what());
    }
}

ViewBookmarks* ViewBookmarks::of(const SlideView* view) {
    if (!view) return nullptr;
    return qobject_cast<ViewBookmarks*>(view->property(kPropertyName).value<QObject*>());
}

int ViewBookmarks::add(Bookmark bookmark) {
    if (bookmark.name.empty()) bookmark.name = unusedName().toStdString();
    items_.push_back(std::move(bookmark));
    save();
    return count() - 1;
}

void ViewBookmarks::rename(int index, const QString& name) {
    const QString trimmed = name.trimmed();
    if (index < 0 || index >= count() || trimmed.isEmpty()) return;
    std::string text = trimmed.toStdString();
    if (text.size() > kMaxBookmarkNameBytes)  // what the reader accepts, cut at a character
        text = trimmed.left(int(kMaxBookmarkNameBytes / 4)).toStdString();
    if (items_[std::size_t(index)].name == text) return;
    items_[std::size_t(index)].name = text;
    save();
}

void ViewBookmarks::move(int from, int to) {
    if (from < 0 || from >= count() || to < 0 || to >= count() || from == to) return;
    Bookmark b = std::move(items_[std::size_t(from)]);
    items_.erase(items_.begin() + from);
    items_.insert(items_.begin() + to, std::move(b));
    save();
}

void ViewBookmarks::remove(int index) {
    if (index < 0 || index >= count()) return;
    items_.erase(items_.begin() + index);
    save();
}

void ViewBookmarks::insert(int index, Bookmark bookmark) {
    index = std::clamp(index, 0, count());
    items_.insert(items_.begin() + index, std::move(bookmark));
    save();
}

QString ViewBookmarks::unusedName() const {
    for (int n = count() + 1;; ++n) {
        const std::string name = tr("View %1").arg(n).toStdString();
        if (std::none_of(items_.begin(), items_.end(),
                         [&](const Bookmark& b) { return b.name == name; }))
            return QString::fromStdString(name);
    }
}

void ViewBookmarks::save() {
    emit changed();
    if (path_.isEmpty()) return;
    if (!loadError_.isEmpty()) {  // never write over a file that could not be read
        saveError_ = tr("The bookmarks are not saved: %1 could not be read (%2). Move it away to "
                        "keep new bookmarks.")
                         .arg(path_, loadError_);
        emit saveFailed(saveError_);
        return;
    }
    try {
        QDir().mkpath(QFileInfo(path_).absolutePath());
        writeBookmarksFile(path_.toStdString(), items_);
        saveError_.clear();
    } catch (const std::exception& e) {
        saveError_ = QString::fromStdString(e.what());
        emit saveFailed(saveError_);
    }
}

}  // namespace lucida::ui
