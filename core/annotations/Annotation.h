#pragma once
// Annotations as QuPath and ASAP hold them: a geometry in level-0 pixel coordinates, a class, a
// name, and how it was drawn. Plain values: the viewer, the readers/writers and the CLI share them.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lucida {

struct Point2 {
    double x = 0, y = 0;
    bool operator==(const Point2&) const = default;
};

using Ring = std::vector<Point2>;  // closed: the last point is not repeated

struct PolygonRings {
    Ring outer;
    std::vector<Ring> holes;
    bool operator==(const PolygonRings&) const = default;
};

// GeoJSON's geometry types: Point and MultiPoint keep `points`, LineString its vertices in
// `points`, Polygon one entry of `polygons`, MultiPolygon several.
struct Geometry {
    enum class Type { Point, MultiPoint, LineString, Polygon, MultiPolygon };
    Type type = Type::Polygon;
    std::vector<Point2> points;
    std::vector<PolygonRings> polygons;
    bool operator==(const Geometry&) const = default;

    bool isArea() const { return type == Type::Polygon || type == Type::MultiPolygon; }
    bool isLine() const { return type == Type::LineString; }
    std::size_t vertexCount() const;
};

struct Bounds {
    double x0 = 0, y0 = 0, x1 = 0, y1 = 0;
    bool empty() const { return x1 < x0 || y1 < y0; }
};
Bounds boundsOf(const Geometry& g);

// 0xRRGGBB.
using Rgb = std::uint32_t;

struct AnnotationClass {
    std::string name;
    Rgb colour = 0xC8C8C8;
    std::string description;
    bool operator==(const AnnotationClass&) const = default;
};

// The classes a new project starts with (QuPath's colours where it has the class).
const std::vector<AnnotationClass>& defaultAnnotationClasses();

struct Annotation {
    std::string id;  // a UUID, kept across saves and round trips
    std::string name;
    std::string description;
    std::string className;      // empty: unclassified
    std::optional<Rgb> colour;  // the object's own colour; else its class's
    bool locked = false;
    bool detection = false;  // QuPath "detection" (e.g. a cell), not "annotation"
    // How it was drawn: "point", "line", "arrow", "rectangle", "ellipse", "polygon", "freehand",
    // "brush", "text", "spline" (ASAP), "heat-region"; decides how the viewer edits it.
    std::string tool;
    std::string text;  // the callout of a "text" annotation
    int slice = -1;    // DICOM series slice it belongs to; -1 = every slice / not a series
    Geometry geometry;
    bool operator==(const Annotation&) const = default;
};

struct AnnotationSet {
    std::vector<Annotation> items;
    std::vector<AnnotationClass> classes;  // the classes the file defines or uses
    // The image the annotations were made on, when the file says (Lucida's own files do).
    std::optional<std::int64_t> imageWidth, imageHeight;

    const AnnotationClass* findClass(const std::string& name) const;
    // Adds `name` with `colour` unless a class of that name exists.
    void useClass(const std::string& name, std::optional<Rgb> colour);
};

std::string newAnnotationId();  // random UUID (version 4)

}  // namespace lucida
