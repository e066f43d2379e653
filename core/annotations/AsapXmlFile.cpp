// ASAP's annotation XML (ASAP_Annotations / Annotations / Annotation / Coordinates / Coordinate,
// and AnnotationGroups / Group) through pugixml, whose parser is not recursive.
#include "annotations/AnnotationError.h"
#include "annotations/AnnotationFiles.h"
#include "annotations/AnnotationRepair.h"

#include <pugixml.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <sstream>

namespace lucida {

namespace {

std::optional<Rgb> parseColour(const char* text) {
    unsigned v = 0;
    if (text && text[0] == '#' && std::strlen(text) == 7 && std::sscanf(text + 1, "%6x", &v) == 1)
        return Rgb(v);
    return std::nullopt;
}

std::string colourText(Rgb c) {
    char s[8];
    std::snprintf(s, sizeof s, "#%06X", unsigned(c & 0xFFFFFF));
    return s;
}

std::string number(double v) {
    std::ostringstream s;
    s.imbue(std::locale::classic());
    s.precision(17);
    s << v;
    return s.str();
}

// "None" and an empty group are no class.
std::string groupName(const char* g) {
    const std::string s = g ? g : "";
    return s == "None" ? std::string() : s;
}

}  // namespace

AnnotationImport parseAsapXml(std::string_view text, const std::string& path,
                              const AnnotationLimits& limits) {
    pugi::xml_document doc;
    const pugi::xml_parse_result r = doc.load_buffer(text.data(), text.size());
    if (!r)
        throw AnnotationError(path, std::string("not valid XML: ") + r.description() + " at byte " +
                                        std::to_string(r.offset));
    const pugi::xml_node root = doc.child("ASAP_Annotations");
    if (!root) throw AnnotationError(path, "not ASAP annotations: no ASAP_Annotations element");

    AnnotationImport out;
    for (const pugi::xml_node g : root.child("AnnotationGroups").children("Group")) {
        const std::string name = groupName(g.attribute("Name").value());
        out.set.useClass(name, parseColour(g.attribute("Color").value()));
    }
    std::size_t index = 0, vertices = 0;
    for (const pugi::xml_node n : root.child("Annotations").children("Annotation")) {
        if (++index > limits.maxObjects)
            throw AnnotationError(
                path, "more than " + std::to_string(limits.maxObjects) + " annotations");
        const std::string type = n.attribute("Type").value();
        const std::string where =
            "annotation " + std::to_string(index - 1) + " (" + n.attribute("Name").value() + ")";
        std::vector<std::pair<long long, Point2>> ordered;
        bool bad = false;
        for (const pugi::xml_node c : n.child("Coordinates").children("Coordinate")) {
            if (++vertices > limits.maxVertices)
                throw AnnotationError(
                    path, "more than " + std::to_string(limits.maxVertices) + " vertices");
            const double x = c.attribute("X").as_double(NAN), y = c.attribute("Y").as_double(NAN);
            if (!std::isfinite(x) || !std::isfinite(y) || std::abs(x) > limits.maxCoordinate ||
                std::abs(y) > limits.maxCoordinate) {
                bad = true;
                break;
            }
            ordered.push_back({c.attribute("Order").as_llong(0), {x, y}});
        }
        if (bad) {
            out.notes.push_back(where + ": coordinate missing or out of range (skipped)");
            continue;
        }
        std::stable_sort(ordered.begin(), ordered.end(),
                         [](const auto& a, const auto& b) { return a.first < b.first; });
        std::vector<Point2> points;
        for (const auto& [order, p] : ordered) points.push_back(p);

        Annotation a;
        a.id = newAnnotationId();
        a.name = n.attribute("Name").value();
        a.className = groupName(n.attribute("PartOfGroup").value());
        a.colour = parseColour(n.attribute("Color").value());
        out.set.useClass(a.className, std::nullopt);
        if ((type == "Dot" && points.size() == 1) || (type == "PointSet" && !points.empty())) {
            a.geometry.type = type == "Dot" ? Geometry::Type::Point : Geometry::Type::MultiPoint;
            a.geometry.points = std::move(points);
            a.tool = "point";
        } else if (type == "Measurement" && points.size() >= 2) {
            a.geometry.type = Geometry::Type::LineString;
            a.geometry.points = std::move(points);
            a.tool = a.geometry.points.size() == 2 ? "line" : "polyline";
        } else if ((type == "Polygon" || type == "Spline" || type == "Rectangle") &&
                   points.size() >= 3) {
            if (points.size() > 1 && points.front() == points.back()) points.pop_back();
            a.geometry.type = Geometry::Type::Polygon;
            a.geometry.polygons.push_back({std::move(points), {}});
            a.tool = type == "Polygon" ? "polygon" : type == "Spline" ? "spline" : "rectangle";
        } else {
            out.notes.push_back(where + ": type \"" + type + "\" with " +
                                std::to_string(points.size()) +
                                " coordinates is not supported (skipped)");
            continue;
        }
        out.set.items.push_back(std::move(a));
    }
    repairAll(out, path);
    return out;
}

std::string writeAsapXml(const AnnotationSet& set, std::vector<std::string>* notes) {
    pugi::xml_document doc;
    pugi::xml_node root = doc.append_child("ASAP_Annotations");
    pugi::xml_node list = root.append_child("Annotations");
    std::size_t holes = 0;
    auto add = [&](const Annotation& a, const char* type, const std::vector<Point2>& points,
                   const std::string& suffix) {
        pugi::xml_node n = list.append_child("Annotation");
        n.append_attribute("Name") = (a.name.empty() ? a.id : a.name + suffix).c_str();
        n.append_attribute("Type") = type;
        n.append_attribute("PartOfGroup") = a.className.empty() ? "None" : a.className.c_str();
        const AnnotationClass* c = set.findClass(a.className);
        n.append_attribute("Color") =
            colourText(a.colour.value_or(c ? c->colour : 0xF4FA58)).c_str();
        pugi::xml_node coords = n.append_child("Coordinates");
        for (std::size_t k = 0; k < points.size(); ++k) {
            pugi::xml_node p = coords.append_child("Coordinate");
            p.append_attribute("Order") = static_cast<unsigned long long>(k);
            p.append_attribute("X") = number(points[k].x).c_str();
            p.append_attribute("Y") = number(points[k].y).c_str();
        }
    };
    for (const Annotation& a : set.items) {
        const Geometry& g = a.geometry;
        switch (g.type) {
            case Geometry::Type::Point:
                add(a, "Dot", g.points, "");
                break;
            case Geometry::Type::MultiPoint:
                add(a, "PointSet", g.points, "");
                break;
            case Geometry::Type::LineString:
                if (g.points.size() > 2 && notes)
                    notes->push_back("\"" + a.name + "\": a line of " +
                                     std::to_string(g.points.size()) +
                                     " points written as an ASAP Measurement");
                add(a, "Measurement", g.points, "");
                break;
            default: {
                const char* type = a.tool == "rectangle" && g.polygons.size() == 1 &&
                                           g.polygons[0].outer.size() == 4
                                       ? "Rectangle"
                                   : a.tool == "spline" ? "Spline"
                                                        : "Polygon";
                for (std::size_t k = 0; k < g.polygons.size(); ++k) {
                    holes += g.polygons[k].holes.size();
                    add(a, type, g.polygons[k].outer,
                        g.polygons.size() > 1 ? " (part " + std::to_string(k + 1) + ")" : "");
                }
                if (g.polygons.size() > 1 && notes)
                    notes->push_back("\"" + a.name + "\": " + std::to_string(g.polygons.size()) +
                                     " parts written as separate ASAP annotations");
            }
        }
    }
    if (holes && notes)
        notes->push_back(std::to_string(holes) + " hole(s) dropped: ASAP XML has no holes");
    pugi::xml_node groups = root.append_child("AnnotationGroups");
    for (const AnnotationClass& c : set.classes) {
        pugi::xml_node g = groups.append_child("Group");
        g.append_attribute("Name") = c.name.c_str();
        g.append_attribute("PartOfGroup") = "None";
        g.append_attribute("Color") = colourText(c.colour).c_str();
        g.append_child("Attributes");
    }
    std::ostringstream s;
    doc.save(s, "\t", pugi::format_default, pugi::encoding_utf8);
    return s.str();
}

}  // namespace lucida
