#pragma once
// The bookmarks of one SlideView's image: loaded from and saved to a sidecar beside the image's
// other results ("<results root>/<image file name>.bookmarks.json"), written atomically after
// every change (a few KiB). A child of the view that goes with it.

#include "bookmarks/Bookmark.h"

#include <QObject>
#include <QString>

#include <vector>

namespace lucida::ui {

class SlideView;

// Where an image's bookmarks are kept, beside its annotations (annotationFilePath).
QString bookmarkFilePath(const QString& resultsRoot, const QString& imagePath);

class ViewBookmarks : public QObject {
    Q_OBJECT
public:
    // `path` empty: kept in memory only. A file that cannot be read is left alone (never saved
    // over: changes stay in memory, saveFailed says so) and said in loadError().
    ViewBookmarks(SlideView* view, const QString& path);
    static ViewBookmarks* of(const SlideView* view);  // null: none attached

    const std::vector<Bookmark>& items() const { return items_; }
    int count() const { return int(items_.size()); }
    QString path() const { return path_; }
    QString loadError() const { return loadError_; }
    QString saveError() const { return saveError_; }  // the last save's failure; empty: saved

    int add(Bookmark bookmark);  // at the end; returns its index
    void rename(int index, const QString& name);
    void move(int from, int to);
    void remove(int index);
    void insert(int index, Bookmark bookmark);  // at `index` (clamped): undoes a remove
    QString unusedName() const;                 // "View 1", "View 2", … not yet taken

signals:
    void changed();
    void saveFailed(const QString& message);

private:
    void save();

    SlideView* view_;
    QString path_;
    std::vector<Bookmark> items_;
    QString loadError_;
    QString saveError_;
};

}  // namespace lucida::ui
