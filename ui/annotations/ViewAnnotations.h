#pragma once
// Everything annotations add to one SlideView, in one piece a window creates per view: the
// document (loaded from and autosaved to `path`), its layer in the renderer's annotation slot and
// the drawing tools. A child of the view that goes with it (saving what is unsaved); never
// deleted before its view, whose renderer holds its layer.

#include <QActionGroup>
#include <QObject>
#include <QString>

#include <functional>

namespace lucida::ui {

class AnnotationDocument;
class AnnotationLayer;
class AnnotationTools;
class SlideView;

class ViewAnnotations : public QObject {
    Q_OBJECT
public:
    // `path`: the file to load and autosave (annotationFilePath(results root, image path)); empty:
    // no file. A file that cannot be read is left alone (nothing is saved over it) and said in
    // loadError().
    ViewAnnotations(SlideView* view, const QString& path);
    ~ViewAnnotations() override;

    static ViewAnnotations* of(const SlideView* view);  // null: none attached

    AnnotationDocument* document() const { return document_; }
    AnnotationLayer* layer() const { return layer_; }
    AnnotationTools* tools() const { return tools_; }
    QString loadError() const { return loadError_; }

    // Reads a GeoJSON or ASAP XML file and adds its annotations (one undo step). Empty on
    // success, else the reader's message naming the file; the reader's repair notes in `notes`.
    QString importFile(const QString& path, QStringList* notes = nullptr);
    // Writes all annotations to `path` in the format of its extension; empty on success.
    QString exportFile(const QString& path) const;
    static bool isAnnotationFile(const QString& path);  // .geojson, .json, .xml

private:
    SlideView* view_;
    AnnotationDocument* document_;
    AnnotationLayer* layer_;
    AnnotationTools* tools_;
    QString loadError_;
};

// The tool buttons (checkable, one at a time, QuPath's keys where the viewer leaves them free:
// Esc/S select, . point, L line, A arrow, Shift+R rectangle, O ellipse, P polygon, Shift+F
// freehand, B brush, Shift+T text — R rotates, F fits the view and T shows the tissue outline)
// acting on the tools `current` returns (null: no view; the actions do nothing).
QActionGroup* createAnnotationToolActions(QObject* parent,
                                          std::function<AnnotationTools*()> current);

}  // namespace lucida::ui
