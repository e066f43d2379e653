#include "ViewAnnotations.h"

#include "AnnotationDocument.h"
#include "AnnotationLayer.h"
#include "AnnotationTools.h"
#include "Icons.h"
#include "SlideView.h"
#include "annotations/AnnotationFiles.h"

#include <QAction>
#include <QFileInfo>

namespace lucida::ui {

ViewAnnotations::ViewAnnotations(SlideView* view, const QString& path)
    : QObject(view),
      view_(view),
      document_(new AnnotationDocument(view->document()->info(), this)),
      layer_(new AnnotationLayer(document_, view->document())),
      tools_(new AnnotationTools(view, document_, layer_)) {
    setObjectName("viewAnnotations");
    if (!path.isEmpty()) document_->open(path, &loadError_);
    view_->renderer().addLayer(layer_, SceneRenderer::kAnnotationDepth);
    connect(document_, &AnnotationDocument::changed, view_, qOverload<>(&QWidget::update));
    connect(document_, &AnnotationDocument::selectionChanged, view_, qOverload<>(&QWidget::update));
    connect(document_, &AnnotationDocument::classesChanged, view_, qOverload<>(&QWidget::update));
}

// Deleted with its view, as the view's child: by then the view's renderer is gone (its members go
// before QWidget deletes the children), so the layer is not removed from it, only deleted.
ViewAnnotations::~ViewAnnotations() {
    delete tools_;
    delete layer_;
    delete document_;  // saves what is unsaved
}

ViewAnnotations* ViewAnnotations::of(const SlideView* view) {
    return view ? view->findChild<ViewAnnotations*>("viewAnnotations", Qt::FindDirectChildrenOnly)
                : nullptr;
}

bool ViewAnnotations::isAnnotationFile(const QString& path) {
    const QString suffix = QFileInfo(path).suffix().toLower();
    return suffix == "geojson" || suffix == "json" || suffix == "xml";
}

QString ViewAnnotations::importFile(const QString& path, QStringList* notes) {
    try {
        const AnnotationImport in = readAnnotationFile(path.toStdString());
        document_->import(in.set);
        if (notes)
            for (const std::string& n : in.notes) *notes << QString::fromStdString(n);
        return {};
    } catch (const std::exception& e) {
        return QString::fromStdString(e.what());
    }
}

QString ViewAnnotations::exportFile(const QString& path) const {
    try {
        writeAnnotationFile(path.toStdString(), document_->set());
        return {};
    } catch (const std::exception& e) {
        return QString::fromStdString(e.what());
    }
}

QActionGroup* createAnnotationToolActions(QObject* parent,
                                          std::function<AnnotationTools*()> current) {
    using Tool = AnnotationTools::Tool;
    struct Entry {
        Tool tool;
        const char* text;
        const char* key;
        const char* icon;  // resources/icons/<icon>.svg
    };
    const Entry entries[] = {
        {Tool::Select, QT_TRANSLATE_NOOP("ViewAnnotations", "Select / Move"), "S",
         "annotate-select"},
        {Tool::Point, QT_TRANSLATE_NOOP("ViewAnnotations", "Point"), ".", "annotate-point"},
        {Tool::Line, QT_TRANSLATE_NOOP("ViewAnnotations", "Line (ruler)"), "L", "annotate-line"},
        {Tool::Arrow, QT_TRANSLATE_NOOP("ViewAnnotations", "Arrow"), "A", "annotate-arrow"},
        {Tool::Rectangle, QT_TRANSLATE_NOOP("ViewAnnotations", "Rectangle"), "Shift+R",
         "annotate-rectangle"},
        {Tool::Ellipse, QT_TRANSLATE_NOOP("ViewAnnotations", "Ellipse"), "O", "annotate-ellipse"},
        {Tool::Polygon, QT_TRANSLATE_NOOP("ViewAnnotations", "Polygon"), "P", "annotate-polygon"},
        {Tool::Freehand, QT_TRANSLATE_NOOP("ViewAnnotations", "Freehand"), "Shift+F",
         "annotate-freehand"},
        {Tool::Brush, QT_TRANSLATE_NOOP("ViewAnnotations", "Brush (Alt: erase)"), "B",
         "annotate-brush"},
        {Tool::Text, QT_TRANSLATE_NOOP("ViewAnnotations", "Text callout"), "Shift+T",
         "annotate-text"},
    };
    auto* group = new QActionGroup(parent);
    group->setExclusionPolicy(QActionGroup::ExclusionPolicy::ExclusiveOptional);
    for (const Entry& e : entries) {
        auto* action = new QAction(QObject::tr(e.text), group);
        action->setObjectName(QStringLiteral("annotationTool%1").arg(int(e.tool)));
        action->setIcon(ownIcon(QString::fromLatin1(e.icon)));
        action->setCheckable(true);
        action->setShortcut(QKeySequence(QString::fromLatin1(e.key)));
        action->setData(int(e.tool));
        QObject::connect(action, &QAction::toggled, action, [action, current](bool on) {
            AnnotationTools* tools = current();
            if (!tools) return;
            const auto tool = Tool(action->data().toInt());
            if (on)
                tools->setTool(tool);
            else if (tools->tool() == tool)
                tools->setTool(Tool::None);  // unchecked: the view pans again
        });
    }
    return group;
}

}  // namespace lucida::ui
