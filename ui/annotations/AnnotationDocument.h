#pragma once
// The annotations of one image as the GUI edits them: the AnnotationSet, its spatial index, the
// selection, and an undo stack through which every edit goes. Saves itself a few seconds after an
// edit and when it closes.

#include "annotations/Annotation.h"
#include "annotations/AnnotationIndex.h"
#include "annotations/AnnotationMeasure.h"
#include "image/ImageSource.h"

#include <QFuture>
#include <QObject>
#include <QString>
#include <QStringList>

#include <optional>
#include <set>
#include <string>
#include <vector>

class QTimer;
class QUndoStack;

namespace lucida::ui {

// The pixel size measurements use: µm for slides, mm for DICOM (displayUnit), unknown otherwise.
PixelSize pixelSizeOf(const ImageInfo& info);

// Where an image's annotations are saved: "<results root>/<image file name>.annotations.geojson".
// The results root is the image's results folder (ResultsLocation: the user store by default, so
// shared or read-only slide folders are never written; beside the image when the user chose it),
// so annotations sit with the heat maps of the same image and move with them.
QString annotationFilePath(const QString& resultsRoot, const QString& imagePath);

// The user's own classes, kept in QSettings under kUserClassesKey as "name|#RRGGBB" entries, for
// every image; adding one of a name already there changes its colour.
inline constexpr const char* kUserClassesKey = "annotations/classes";
// Their descriptions, a name -> text map apart, so the list above keeps its format.
inline constexpr const char* kClassDescriptionsKey = "annotations/classDescriptions";
std::vector<AnnotationClass> userAnnotationClasses();
void addUserAnnotationClass(const AnnotationClass& c);

class AnnotationDocument : public QObject {
    Q_OBJECT
public:
    static constexpr int kAutosaveMs = 3000;

    explicit AnnotationDocument(const ImageInfo& info, QObject* parent = nullptr);
    ~AnnotationDocument() override;  // saves what is unsaved

    const AnnotationSet& set() const { return set_; }
    const std::vector<Annotation>& items() const { return set_.items; }
    const PixelSize& pixelSize() const { return pixel_; }
    QUndoStack* undoStack() const { return undo_; }
    // Indices of the items whose bounds touch `view` (level-0 pixels); rebuilt lazily after edits.
    std::vector<std::size_t> query(const Bounds& view) const;
    std::optional<std::size_t> indexOf(const std::string& id) const;

    // The file to save to (empty: none, no autosave). Loads it when it exists: false with
    // `error` set when it cannot be read (nothing here is changed then).
    bool open(const QString& path, QString* error = nullptr);
    QString path() const { return path_; }
    // Adds the annotations of another file (an import, a drop), its classes too, as one undoable
    // edit; ids already here get new ones.
    void import(const AnnotationSet& other);
    // Writes now, synchronously; false with `error` on failure.
    bool save(QString* error = nullptr);
    bool isModified() const { return modified_; }

    // Edits, each one undo step.
    void add(Annotation a, const QString& text = tr("Add annotation"));
    void add(std::vector<Annotation> items, const QString& text);  // new ids; selects them
    void remove(const std::vector<std::string>& ids);
    void replace(const Annotation& changed, const QString& text);  // by id
    void replace(const std::vector<Annotation>& changed, const QString& text);
    void setClass(const std::vector<std::string>& ids, const std::string& className);

    // The class new annotations get, and the classes offered (the set's, then the defaults).
    std::string currentClass() const { return currentClass_; }
    void setCurrentClass(const std::string& name) { currentClass_ = name; }
    // The image's classes, then the user's (userAnnotationClasses, read when the document is
    // made and on addUserClass), then the defaults; each name once.
    std::vector<AnnotationClass> classes() const;
    void addUserClass(const AnnotationClass& c);  // kept in the settings, offered here at once

    // Per class, for this document while it is open: hidden ones are neither drawn nor picked;
    // locked ones are not moved, edited or deleted (nor are objects locked themselves).
    void setClassHidden(const std::string& name, bool hidden);
    void setClassLocked(const std::string& name, bool locked);
    bool isClassHidden(const std::string& name) const { return hidden_.count(name) != 0; }
    bool isClassLocked(const std::string& name) const { return locked_.count(name) != 0; }
    bool anyClassHidden() const { return !hidden_.empty(); }
    bool isEditable(const Annotation& a) const { return !a.locked && !isClassLocked(a.className); }
    // An annotation's colour: its own, else its class's, else grey.
    Rgb colourOf(const Annotation& a) const;

    const std::set<std::string>& selection() const { return selection_; }
    void select(const std::vector<std::string>& ids);
    bool isSelected(const std::string& id) const { return selection_.count(id) != 0; }

    // One change of the set: `before` absent = added, `after` absent = removed. Applied by the undo
    // commands; `position` is where a removed item stood, so undo puts it back in place.
    struct Change {
        std::string id;
        std::optional<Annotation> before, after;
        std::size_t position = 0;
    };
    void apply(const std::vector<Change>& changes, bool forward);

signals:
    void changed();           // items added, removed or edited
    void selectionChanged();  // the selection
    void saveFailed(const QString& message);
    void classesChanged();  // a class added, shown, hidden, locked or unlocked

private:
    void push(std::vector<Change> changes, const QString& text);
    void edited();
    void autosave();

    // Sets of up to this many objects (hand-drawn ones) are written on the GUI thread, in a few
    // ms; larger ones (imported detections) from a copy on a worker, one write at a time.
    static constexpr std::size_t kSynchronousSaveLimit = 2000;

    AnnotationSet set_;
    PixelSize pixel_;
    QString path_;
    QUndoStack* undo_;
    QTimer* autosave_;
    bool modified_ = false;
    QFuture<QString> saving_;  // a background write in flight: its error, empty on success
    std::string currentClass_;
    std::set<std::string> selection_;
    std::vector<AnnotationClass> userClasses_;
    std::set<std::string> hidden_, locked_;
    mutable AnnotationIndex index_;
    mutable bool indexDirty_ = true;
};

}  // namespace lucida::ui
