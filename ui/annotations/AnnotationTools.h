#pragma once
// Drawing and editing annotations on a SlideView. Watches the view's mouse and key events (an
// event filter, so the view needs no hook): with a drawing tool active, left-button input draws
// instead of panning; with Select, a click selects, a drag moves the selection or one of its
// vertices, Del deletes, and a drag on empty space still pans. Screen points become level-0
// points through the view's ViewGeometry, so drawing works at any zoom and rotation.

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
        Brush
    };

    static constexpr int kEllipseVertices = 72;
    static constexpr double kPickPixels = 6.0;  // how close a click must be to a line or vertex

    AnnotationTools(SlideView* view, AnnotationDocument* document, AnnotationLayer* layer);

    Tool tool() const { return tool_; }
    void setTool(Tool tool);                                   // drops a shape being drawn
    double brushRadiusPixels() const { return brushRadius_; }  // screen pixels
    void setBrushRadiusPixels(double radius) { brushRadius_ = radius; }

    // The name a tool is stored under (Annotation::tool).
    static const char* toolName(Tool tool);

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
    // Select: a drag of the selection (vertex -1) or of one vertex of `editing_`.
    std::optional<Annotation> editing_;
    int vertex_ = -1;
    int ring_ = -1;  // polygon of the vertex; -1: points
    Point2 dragFrom_;
};

}  // namespace lucida::ui
