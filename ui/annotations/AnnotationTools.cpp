#include "AnnotationTools.h"

#include "AnnotationDocument.h"
#include "AnnotationLayer.h"
#include "SlideView.h"
#include "annotations/AnnotationGeometry.h"

#include <QAction>
#include <QInputDialog>
#include <QKeyEvent>
#include <QMouseEvent>
#include <QUndoStack>

#include <cmath>
#include <numbers>

namespace lucida::ui {

namespace {

double distanceToSegment(Point2 p, Point2 a, Point2 b) {
    const double dx = b.x - a.x, dy = b.y - a.y;
    const double len2 = dx * dx + dy * dy;
    const double t =
        len2 > 0 ? std::clamp(((p.x - a.x) * dx + (p.y - a.y) * dy) / len2, 0.0, 1.0) : 0.0;
    return std::hypot(p.x - (a.x + t * dx), p.y - (a.y + t * dy));
}

Geometry polygonOf(Ring ring) {
    Geometry g;
    g.type = Geometry::Type::Polygon;
    g.polygons.push_back({std::move(ring), {}});
    return g;
}

void translate(Geometry& g, double dx, double dy) {
    auto shift = [&](std::vector<Point2>& pts) {
        for (Point2& p : pts) p = {p.x + dx, p.y + dy};
    };
    shift(g.points);
    for (PolygonRings& p : g.polygons) {
        shift(p.outer);
        for (Ring& h : p.holes) shift(h);
    }
}

}  // namespace

AnnotationTools::AnnotationTools(SlideView* view, AnnotationDocument* document,
                                 AnnotationLayer* layer)
    : QObject(view), view_(view), document_(document), layer_(layer) {
    view_->installEventFilter(this);
    // Ctrl+Z / Ctrl+Shift+Z on the view (with the focus in it), whether or not a window has an
    // Edit menu: the actions belong to the view and follow the stack's texts and states.
    QUndoStack* stack = document_->undoStack();
    QAction* undo = stack->createUndoAction(view_, tr("Undo"));
    undo->setShortcut(QKeySequence::Undo);
    QAction* redo = stack->createRedoAction(view_, tr("Redo"));
    redo->setShortcuts({QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_Z), QKeySequence::Redo});
    auto* duplicate = new QAction(tr("Duplicate"), view_);
    duplicate->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_D));
    connect(duplicate, &QAction::triggered, this, &AnnotationTools::duplicateSelection);
    for (QAction* a : {undo, redo, duplicate}) {
        a->setShortcutContext(Qt::WidgetWithChildrenShortcut);
        view_->addAction(a);
    }
}

const char* AnnotationTools::toolName(Tool tool) {
    switch (tool) {
        case Tool::Point:
            return "point";
        case Tool::Line:
            return "line";
        case Tool::Arrow:
            return "arrow";
        case Tool::Rectangle:
            return "rectangle";
        case Tool::Ellipse:
            return "ellipse";
        case Tool::Polygon:
            return "polygon";
        case Tool::Freehand:
            return "freehand";
        case Tool::Brush:
            return "brush";
        case Tool::Text:
            return "text";
        case Tool::None:
        case Tool::Select:
            break;
    }
    return "";
}

void AnnotationTools::setTool(Tool tool) {
    cancel();
    if (tool == tool_) return;
    tool_ = tool;
    view_->setCursor(tool == Tool::None || tool == Tool::Select ? Qt::ArrowCursor
                                                                : Qt::CrossCursor);
    emit toolChanged(tool);
}

Point2 AnnotationTools::toImage(QPointF screen) const {
    const PointF p = view_->viewGeometry().toImage({screen.x(), screen.y()});
    return {p.x, p.y};
}

bool AnnotationTools::eventFilter(QObject* watched, QEvent* event) {
    if (watched != view_ || tool_ == Tool::None) return false;
    switch (event->type()) {
        case QEvent::MouseButtonPress: {
            auto* e = static_cast<QMouseEvent*>(event);
            return e->button() == Qt::LeftButton && press(e->position(), e->modifiers());
        }
        case QEvent::MouseMove:
            return move(static_cast<QMouseEvent*>(event)->position());
        case QEvent::MouseButtonRelease: {
            auto* e = static_cast<QMouseEvent*>(event);
            return e->button() == Qt::LeftButton && release(e->position());
        }
        case QEvent::MouseButtonDblClick:
            return doubleClick(static_cast<QMouseEvent*>(event)->position());
        case QEvent::KeyPress:
            return key(static_cast<QKeyEvent*>(event)->key());
        default:
            return false;
    }
}

bool AnnotationTools::press(QPointF screen, Qt::KeyboardModifiers modifiers) {
    const Point2 p = toImage(screen);
    if (tool_ == Tool::Select) return pressSelect(screen, modifiers & Qt::ShiftModifier);
    pressed_ = true;
    erasing_ = tool_ == Tool::Brush && (modifiers & Qt::AltModifier);
    switch (tool_) {
        case Tool::Point:
            points_ = {p};
            finish();
            break;
        case Tool::Text:
            placeText(p);
            break;
        case Tool::Polygon:
            // The second press of a double-click (which finishes) adds no vertex of its own.
            if (points_.empty() || std::hypot(p.x - points_.back().x, p.y - points_.back().y) *
                                           view_->viewGeometry().scale >=
                                       1.0)
                points_.push_back(p);
            updatePreview();
            break;
        default:  // drags: line, arrow, rectangle, ellipse, freehand, brush
            points_ = {p, p};
            if (tool_ == Tool::Freehand || tool_ == Tool::Brush) points_.pop_back();
            updatePreview();
    }
    return true;
}

bool AnnotationTools::pressSelect(QPointF screen, bool toggle) {
    const Point2 p = toImage(screen);
    const double tolerance = kPickPixels / view_->viewGeometry().scale;
    for (const std::string& id : document_->selection()) {  // a vertex of the selection?
        if (toggle) break;
        const auto at = document_->indexOf(id);
        if (!at) continue;
        const Annotation& a = document_->items()[*at];
        if (!document_->isEditable(a)) continue;
        auto near = [&](const std::vector<Point2>& pts, int ring) {
            for (std::size_t i = 0; i < pts.size(); ++i)
                if (std::hypot(pts[i].x - p.x, pts[i].y - p.y) <= tolerance) {
                    vertex_ = int(i);
                    ring_ = ring;
                    return true;
                }
            return false;
        };
        bool found = near(a.geometry.points, -1);
        for (std::size_t r = 0; !found && r < a.geometry.polygons.size(); ++r)
            found = near(a.geometry.polygons[r].outer, int(r));
        if (found) {
            editing_ = a;
            dragFrom_ = p;
            pressed_ = true;
            return true;
        }
    }
    const std::optional<std::string> hit = pick(screen);
    if (toggle) {  // Shift+click: in or out of the selection, nothing moves
        if (!hit) return true;
        std::set<std::string> next = document_->selection();
        if (!next.erase(*hit)) next.insert(*hit);
        document_->select({next.begin(), next.end()});
        return true;
    }
    if (!hit) {
        document_->select({});
        return false;  // the view pans
    }
    // A click on one of several selected keeps them all, to move together.
    if (!document_->isSelected(*hit)) document_->select({*hit});
    moving_.clear();
    for (const std::string& id : document_->selection())
        if (const auto at = document_->indexOf(id))
            if (document_->isEditable(document_->items()[*at]))
                moving_.push_back(document_->items()[*at]);
    const Annotation& a = document_->items()[*document_->indexOf(*hit)];
    if (document_->isEditable(a)) editing_ = a;
    vertex_ = -1;
    dragFrom_ = p;
    pressed_ = true;
    return true;
}

void AnnotationTools::placeText(Point2 at) {
    pressed_ = false;
    bool ok = false;
    const QString text = QInputDialog::getText(view_, tr("Text callout"), tr("Text:"),
                                               QLineEdit::Normal, QString(), &ok);
    if (!ok || text.trimmed().isEmpty()) return;
    Annotation a;
    a.className = document_->currentClass();
    a.tool = "text";
    a.text = text.toStdString();
    a.geometry.type = Geometry::Type::Point;
    a.geometry.points = {at};
    if (view_->document()->info().sliceCount > 1) a.slice = view_->document()->slice();
    document_->add(std::move(a), tr("Add text"));
}

void AnnotationTools::duplicateSelection() {
    const auto& sel = document_->selection();
    if (sel.empty()) return;
    const double offset = kDuplicateOffsetPixels / view_->viewGeometry().scale;
    std::vector<Annotation> copies;
    for (const auto& item : document_->items())
        if (sel.count(item.id)) {
            Annotation copy = item;
            copy.locked = false;
            translate(copy.geometry, offset, offset);
            copies.push_back(std::move(copy));
        }
    const auto n = int(copies.size());
    document_->add(std::move(copies), tr("Duplicate %n annotation(s)", nullptr, n));
    view_->update();
}

bool AnnotationTools::move(QPointF screen) {
    const Point2 p = toImage(screen);
    if (tool_ == Tool::Select) {
        if (!pressed_ || !editing_) return false;
        const Annotation moved = dragged(p);
        layer_->setPreview(
            moved.geometry,
            QString::fromStdString(measure(moved.geometry, document_->pixelSize()).text),
            document_->colourOf(moved), moved.tool == "arrow");
        std::vector<Geometry> others;
        if (vertex_ < 0)
            for (const Annotation& a : moving_)
                if (a.id != editing_->id) {
                    others.push_back(a.geometry);
                    translate(others.back(), p.x - dragFrom_.x, p.y - dragFrom_.y);
                }
        layer_->setPreviewOthers(std::move(others));
        view_->update();
        return true;
    }
    if (tool_ == Tool::Polygon && !points_.empty()) {
        updatePreview(p);
        return false;
    }
    if (!pressed_ || points_.empty()) return false;
    if (tool_ == Tool::Freehand || tool_ == Tool::Brush) {
        const Point2& last = points_.back();
        if (std::hypot(p.x - last.x, p.y - last.y) * view_->viewGeometry().scale >= 1.0)
            points_.push_back(p);
    } else {
        points_.back() = p;
    }
    updatePreview();
    return true;
}

Annotation AnnotationTools::dragged(Point2 p) const {
    Annotation a = *editing_;
    if (vertex_ < 0) {
        translate(a.geometry, p.x - dragFrom_.x, p.y - dragFrom_.y);
    } else {
        auto& pts = ring_ < 0 ? a.geometry.points : a.geometry.polygons[std::size_t(ring_)].outer;
        pts[std::size_t(vertex_)] = p;
    }
    return a;
}

bool AnnotationTools::release(QPointF screen) {
    if (!pressed_) return false;
    pressed_ = false;
    if (tool_ == Tool::Select) {
        const Point2 p = toImage(screen);
        if (editing_ && (p.x != dragFrom_.x || p.y != dragFrom_.y)) {
            if (vertex_ >= 0) {
                document_->replace(dragged(p), tr("Edit vertex"));
            } else {
                for (Annotation& a : moving_)
                    translate(a.geometry, p.x - dragFrom_.x, p.y - dragFrom_.y);
                document_->replace(moving_,
                                   tr("Move %n annotation(s)", nullptr, int(moving_.size())));
            }
        }
        editing_.reset();
        moving_.clear();
        vertex_ = -1;
        layer_->clearPreview();
        view_->update();
        return true;
    }
    if (tool_ == Tool::Polygon || tool_ == Tool::Point || tool_ == Tool::Text) return true;
    if (tool_ != Tool::Freehand && tool_ != Tool::Brush) points_.back() = toImage(screen);
    if (tool_ == Tool::Brush)
        finishBrush();
    else
        finish();
    return true;
}

bool AnnotationTools::doubleClick(QPointF screen) {
    if (tool_ == Tool::Select) return false;  // the view zooms
    if (tool_ == Tool::Polygon) {
        // Its position is the last vertex, whether or not a press there came first (added once).
        press(screen, {});
        pressed_ = false;
        finish();
    }
    return true;
}

bool AnnotationTools::key(int key) {
    switch (key) {
        case Qt::Key_Return:
        case Qt::Key_Enter:
            if (tool_ != Tool::Polygon) return false;
            finish();
            return true;
        case Qt::Key_Escape:
            if (points_.empty() && !editing_) return false;
            cancel();
            return true;
        case Qt::Key_Delete:
        case Qt::Key_Backspace: {
            if (tool_ == Tool::Polygon && !points_.empty()) {  // the last vertex
                points_.pop_back();
                updatePreview();
                return true;
            }
            if (document_->selection().empty()) return false;
            std::vector<std::string> ids;  // locked ones stay
            for (const std::string& id : document_->selection())
                if (const auto at = document_->indexOf(id))
                    if (document_->isEditable(document_->items()[*at])) ids.push_back(id);
            document_->remove(ids);
            view_->update();
            return true;
        }
        default:
            return false;
    }
}

Geometry AnnotationTools::shape() const {
    Geometry g;
    switch (tool_) {
        case Tool::Point:
            g.type = Geometry::Type::Point;
            g.points = points_;
            break;
        case Tool::Line:
        case Tool::Arrow:
        case Tool::Brush:  // the stroke, while drawing
            g.type = Geometry::Type::LineString;
            g.points = points_;
            break;
        case Tool::Rectangle:
        case Tool::Ellipse: {
            if (points_.size() < 2) break;
            const Point2 a = points_.front(), b = points_.back();
            const double x0 = std::min(a.x, b.x), x1 = std::max(a.x, b.x);
            const double y0 = std::min(a.y, b.y), y1 = std::max(a.y, b.y);
            if (tool_ == Tool::Rectangle)
                return polygonOf({{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}});
            Ring ring;
            const double cx = (x0 + x1) / 2, cy = (y0 + y1) / 2, rx = (x1 - x0) / 2,
                         ry = (y1 - y0) / 2;
            for (int i = 0; i < kEllipseVertices; ++i) {
                const double t = 2 * std::numbers::pi * i / kEllipseVertices;
                ring.push_back({cx + rx * std::cos(t), cy + ry * std::sin(t)});
            }
            return polygonOf(std::move(ring));
        }
        case Tool::Polygon:
        case Tool::Freehand:
            if (points_.size() >= 3) return polygonOf(points_);
            g.type = Geometry::Type::LineString;
            g.points = points_;
            break;
        case Tool::None:
        case Tool::Select:
        case Tool::Text:
            break;
    }
    return g;
}

void AnnotationTools::updatePreview(std::optional<Point2> cursor) {
    if (cursor) points_.push_back(*cursor);  // the vertex the next click would add
    const Geometry g = shape();
    if (cursor) points_.pop_back();
    QString text;
    if (tool_ != Tool::Brush && (g.isArea() || (g.isLine() && g.points.size() >= 2)))
        text = QString::fromStdString(measure(g, document_->pixelSize()).text);
    Annotation probe;
    probe.className = document_->currentClass();
    layer_->setPreview(g, text, document_->colourOf(probe), tool_ == Tool::Arrow);
    view_->update();
}

void AnnotationTools::finish() {
    Geometry g = shape();
    const bool degenerate = (g.isArea() && geometryArea(g) <= 0) ||
                            (g.isLine() && (g.points.size() < 2 || geometryLength(g) <= 0)) ||
                            (tool_ == Tool::Polygon && points_.size() < 3);
    if (!degenerate && g.isArea() &&
        !invalidReason(g).empty()) {  // a freehand loop crossing itself
        if (auto valid = makeValid(g)) g = std::move(*valid);
    }
    if (!degenerate) {
        Annotation a;
        a.className = document_->currentClass();
        a.tool = toolName(tool_);
        a.geometry = std::move(g);
        if (view_->document()->info().sliceCount > 1) a.slice = view_->document()->slice();
        document_->add(std::move(a));
    }
    cancel();
}

void AnnotationTools::finishBrush() {
    if (points_.empty()) return cancel();
    const double radius = brushRadius_ / view_->viewGeometry().scale;
    const Geometry stroke = strokeArea(points_, radius);
    // The brush paints onto the one selected area, else starts a new one; Alt erases from it.
    std::optional<Annotation> target;
    if (document_->selection().size() == 1)
        if (const auto at = document_->indexOf(*document_->selection().begin()))
            if (document_->items()[*at].geometry.isArea() &&
                document_->isEditable(document_->items()[*at]))
                target = document_->items()[*at];
    if (target) {
        auto result =
            erasing_ ? subtract(target->geometry, stroke) : unite(target->geometry, stroke);
        if (result) {
            target->geometry = std::move(*result);
            document_->replace(*target, erasing_ ? tr("Erase") : tr("Brush"));
        } else {
            document_->remove({target->id});
        }
    } else if (!erasing_) {
        Annotation a;
        a.className = document_->currentClass();
        a.tool = "brush";
        a.geometry = stroke;
        if (view_->document()->info().sliceCount > 1) a.slice = view_->document()->slice();
        document_->add(std::move(a), tr("Brush"));
    }
    cancel();
}

void AnnotationTools::cancel() {
    points_.clear();
    pressed_ = false;
    editing_.reset();
    moving_.clear();
    vertex_ = -1;
    layer_->clearPreview();
    view_->update();
}

std::optional<std::string> AnnotationTools::pick(QPointF screen) const {
    const Point2 p = toImage(screen);
    const double tolerance = kPickPixels / view_->viewGeometry().scale;
    const auto hits =
        document_->query({p.x - tolerance, p.y - tolerance, p.x + tolerance, p.y + tolerance});
    const auto& items = document_->items();
    const int slice = view_->document()->slice();
    const bool series = view_->document()->info().sliceCount > 1;
    for (auto it = hits.rbegin(); it != hits.rend(); ++it) {  // the topmost first
        const Annotation& a = items[*it];
        if (series && a.slice >= 0 && a.slice != slice) continue;
        if (document_->isClassHidden(a.className)) continue;
        const Geometry& g = a.geometry;
        bool hit = false;
        if (g.isArea()) {
            hit = containsPoint(g, p);
        } else if (g.isLine()) {
            for (std::size_t i = 0; !hit && i + 1 < g.points.size(); ++i)
                hit = distanceToSegment(p, g.points[i], g.points[i + 1]) <= tolerance;
        } else {
            for (const Point2& q : g.points)
                hit = hit || std::hypot(q.x - p.x, q.y - p.y) <= tolerance;
        }
        if (hit) return a.id;
    }
    return std::nullopt;
}

}  // namespace lucida::ui
