#pragma once

#include <QFutureWatcher>
#include <QImage>
#include <QWidget>

class QTreeWidget;
class QVBoxLayout;
class QScrollArea;

namespace lucida::ui {

class ImageDocument;

// Metadata of the current image (summary, levels, every vendor/DICOM property) and its associated
// images (label, macro, thumbnail), read on a worker thread.
class PropertiesPanel : public QWidget {
    Q_OBJECT
public:
    explicit PropertiesPanel(QWidget* parent = nullptr);
    void setDocument(ImageDocument* document);  // nullptr: empty
    QTreeWidget* tree() const { return tree_; }
    int associatedImageCount() const { return associatedCount_; }

private:
    QTreeWidget* tree_;
    QWidget* associated_;
    QVBoxLayout* associatedLayout_;
    int associatedCount_ = 0;
    QFutureWatcher<QList<QPair<QString, QImage>>> watcher_;
};

}  // namespace lucida::ui
