#pragma once
// Geometry of annotations through GEOS: validity and repair, area and length, union and
// difference (the brush), simplification, point containment. Coordinates are level-0 pixels.

#include "annotations/Annotation.h"

#include <optional>
#include <string>

namespace lucida {

// Pixels² (areas, holes subtracted) and pixels (lines; a polygon's perimeter is not its length).
double geometryArea(const Geometry& g);
double geometryLength(const Geometry& g);

// Empty when GEOS finds the geometry valid, else GEOS's reason ("Self-intersection[12 34]").
std::string invalidReason(const Geometry& g);
// The geometry made valid (GEOS MakeValid, polygonal parts kept for areas); nullopt when nothing
// of area is left.
std::optional<Geometry> makeValid(const Geometry& g);

// Area operations for the brush: a ∪ b, a \ b. Polygonal results (Polygon or MultiPolygon);
// nullopt when the result is empty.
std::optional<Geometry> unite(const Geometry& a, const Geometry& b);
std::optional<Geometry> subtract(const Geometry& a, const Geometry& b);
// A disc of `radius` around each point of the stroke, united: what a brush stroke paints.
Geometry strokeArea(const std::vector<Point2>& stroke, double radius);
// Douglas-Peucker keeping topology (no new self-intersections).
Geometry simplify(const Geometry& g, double tolerance);

bool containsPoint(const Geometry& g, Point2 p);

}  // namespace lucida
