#pragma once
// Drawing and editing annotations on a SlideView. Watches the view's mouse and key events (an
// event filter, so the view needs no hook): with a drawing tool active, left-button input draws
// instead of panning; with Select, a click selects, a drag moves the selection or one of its
// vertices, Shift+click adds to or takes from the selection, Del deletes, Ctrl+D duplicates, and a
// drag on empty space still pans. Text asks for a callout's text where it is clicked. Screen points
// become level-0 points through the view's ViewGeometry, so drawing works at any zoom and rotation.

#include "annotations/Annotation.h"

#include <QObject>
#include <QPointF>

#include <optional>
#include <vector>

namespace lucida::ui {

class AnnotationDocument;
class AnnotationLayer;
class SlideView;

class AnnotationTools : public QObject {
    Q_OBJECT
public:
    enum class Tool {
        None,
        Select,
        Point,
        Line,
        Arrow,
        Rectangle,
        Ellipse,
        Polygon,
        Freehand,
        Brush,
        Text
    };

    static constexpr int kEllipseVertices = 72;
    static constexpr double kPickPixels = 6.0;  // how close a click must be to a line or vertex
    static constexpr double kDuplicateOffsetPixels = 20.0;  // copies land this far right and down

    AnnotationTools(SlideView* view, AnnotationDocument* document, AnnotationLayer* layer);

    Tool tool() const { return tool_; }
    void setTool(Tool tool);                                   // drops a shape being drawn
    double brushRadiusPixels() const { return brushRadius_; }  // screen pixels
    void setBrushRadiusPixels(double radius) { brushRadius_ = radius; }

    // The name a tool is stored under (Annotation::tool).
    static const char* toolName(Tool tool);

    // Copies of the selection (new ids) kDuplicateOffsetPixels right of and below it, selected
    // instead of it; one undo step. Ctrl+D on the view.
    void duplicateSelection();

signals:
    void toolChanged(Tool tool);

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    bool press(QPointF screen, Qt::KeyboardModifiers modifiers);
    bool move(QPointF screen);
    bool release(QPointF screen);
    bool doubleClick(QPointF screen);
    bool key(int key);

    Point2 toImage(QPointF screen) const;
    Geometry shape() const;  // what the points drawn so far make with this tool
    void updatePreview(std::optional<Point2> cursor = std::nullopt);
    void finish();  // adds the shape drawn
    void cancel();
    void finishBrush();
    void placeText(Point2 at);  // asks for the callout's text; adds it unless cancelled
    bool pressSelect(QPointF screen, bool toggle);
    std::optional<std::string> pick(QPointF screen) const;
    Annotation dragged(Point2 to) const;  // the edited annotation with the drag applied

    SlideView* view_;
    AnnotationDocument* document_;
    AnnotationLayer* layer_;
    Tool tool_ = Tool::None;
    double brushRadius_ = 20.0;

    std::vector<Point2> points_;  // the shape being drawn, level-0 pixels
    bool pressed_ = false;
    bool erasing_ = false;
    // Select: a drag of the selection (vertex -1; `editing_` is the one grabbed, `moving_` all
    // that move) or of one vertex of `editing_`.
    std::optional<Annotation> editing_;
    std::vector<Annotation> moving_;
    int vertex_ = -1;
    int ring_ = -1;  // polygon of the vertex; -1: points
    Point2 dragFrom_;
};

}  // namespace lucida::ui
