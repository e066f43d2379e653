// GeoJSON as QuPath writes it (FeatureCollection, a plain array of Features, or one Feature),
// through nlohmann::json. The parser is iterative; a callback bounds the nesting depth so a
// hostile file cannot make the value tree (or its destruction) deep.
#include "annotations/AnnotationError.h"
#include "annotations/AnnotationFiles.h"
#include "annotations/AnnotationRepair.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace lucida {

using nlohmann::json;

namespace {

struct Reader {
    const std::string& path;
    const AnnotationLimits& limits;
    std::size_t vertices = 0;

    [[noreturn]] void fail(const std::string& why) const { throw AnnotationError(path, why); }

    Point2 point(const json& c, const std::string& where) {
        if (!c.is_array() || c.size() < 2 || !c[0].is_number() || !c[1].is_number())
            throw std::invalid_argument(where + ": a position is not [x, y]");
        const double x = c[0].get<double>(), y = c[1].get<double>();
        if (!std::isfinite(x) || !std::isfinite(y) || std::abs(x) > limits.maxCoordinate ||
            std::abs(y) > limits.maxCoordinate)
            throw std::invalid_argument(where + ": coordinate out of range");
        if (++vertices > limits.maxVertices)
            fail("more than " + std::to_string(limits.maxVertices) + " vertices");
        return {x, y};
    }
    std::vector<Point2> points(const json& a, const std::string& where) {
        if (!a.is_array()) throw std::invalid_argument(where + ": positions are not an array");
        std::vector<Point2> out;
        out.reserve(std::min<std::size_t>(a.size(), 1 << 16));
        for (const json& c : a) out.push_back(point(c, where));
        return out;
    }
    Ring ring(const json& a, const std::string& where) {
        Ring r = points(a, where);
        if (r.size() > 1 && r.front() == r.back()) r.pop_back();  // GeoJSON repeats the first
        if (r.size() < 3) throw std::invalid_argument(where + ": a ring has fewer than 3 points");
        return r;
    }
    PolygonRings polygon(const json& a, const std::string& where) {
        if (!a.is_array() || a.empty())
            throw std::invalid_argument(where + ": polygon has no rings");
        PolygonRings p;
        p.outer = ring(a[0], where);
        for (std::size_t k = 1; k < a.size(); ++k) p.holes.push_back(ring(a[k], where));
        return p;
    }
    Geometry geometry(const json& g, const std::string& where) {
        if (!g.is_object() || !g.contains("type") || !g["type"].is_string())
            throw std::invalid_argument(where + ": no geometry");
        const std::string type = g["type"].get<std::string>();
        static const char* const supported[] = {"Point", "MultiPoint", "LineString", "Polygon",
                                                "MultiPolygon"};
        if (std::find(std::begin(supported), std::end(supported), type) == std::end(supported))
            throw std::invalid_argument(where + ": geometry type " + type + " is not supported");
        const json* c = g.contains("coordinates") ? &g["coordinates"] : nullptr;
        if (!c) throw std::invalid_argument(where + ": " + type + " without coordinates");
        Geometry out;
        if (type == "Point") {
            out.type = Geometry::Type::Point;
            out.points.push_back(point(*c, where));
        } else if (type == "MultiPoint") {
            out.type = Geometry::Type::MultiPoint;
            out.points = points(*c, where);
            if (out.points.empty()) throw std::invalid_argument(where + ": empty MultiPoint");
        } else if (type == "LineString") {
            out.type = Geometry::Type::LineString;
            out.points = points(*c, where);
            if (out.points.size() < 2)
                throw std::invalid_argument(where + ": a LineString needs 2 points");
        } else if (type == "Polygon") {
            out.type = Geometry::Type::Polygon;
            out.polygons.push_back(polygon(*c, where));
        } else if (type == "MultiPolygon") {
            out.type = Geometry::Type::MultiPolygon;
            if (!c->is_array() || c->empty())
                throw std::invalid_argument(where + ": empty MultiPolygon");
            for (const json& p : *c) out.polygons.push_back(polygon(p, where));
        } else {
            throw std::invalid_argument(where + ": geometry type " + type + " is not supported");
        }
        return out;
    }
};

std::optional<Rgb> colourOf(const json& c) {
    if (c.is_array() && c.size() >= 3 && c[0].is_number_integer() && c[1].is_number_integer() &&
        c[2].is_number_integer()) {
        auto v = [&](int k) { return Rgb(std::clamp(c[k].get<long long>(), 0ll, 255ll)); };
        return v(0) << 16 | v(1) << 8 | v(2);
    }
    if (c.is_number_integer()) return Rgb(c.get<long long>() & 0xFFFFFF);  // QuPath 0.2 colorRGB
    return std::nullopt;
}

std::string stringOr(const json& o, const char* key, std::string fallback = {}) {
    return o.is_object() && o.contains(key) && o[key].is_string() ? o[key].get<std::string>()
                                                                  : fallback;
}

json colourJson(Rgb c) { return json::array({(c >> 16) & 0xFF, (c >> 8) & 0xFF, c & 0xFF}); }

json pointJson(const Point2& p) { return json::array({p.x, p.y}); }

json ringJson(const Ring& r) {
    json a = json::array();
    for (const Point2& p : r) a.push_back(pointJson(p));
    if (!r.empty()) a.push_back(pointJson(r.front()));
    return a;
}

json polygonJson(const PolygonRings& p) {
    json a = json::array({ringJson(p.outer)});
    for (const Ring& h : p.holes) a.push_back(ringJson(h));
    return a;
}

json geometryJson(const Geometry& g) {
    json out;
    json coordinates = json::array();
    switch (g.type) {
        case Geometry::Type::Point:
            out["type"] = "Point";
            coordinates = g.points.empty() ? json::array() : pointJson(g.points.front());
            break;
        case Geometry::Type::MultiPoint:
        case Geometry::Type::LineString:
            out["type"] = g.type == Geometry::Type::LineString ? "LineString" : "MultiPoint";
            for (const Point2& p : g.points) coordinates.push_back(pointJson(p));
            break;
        case Geometry::Type::Polygon:
            out["type"] = "Polygon";
            coordinates = g.polygons.empty() ? json::array() : polygonJson(g.polygons.front());
            break;
        case Geometry::Type::MultiPolygon:
            out["type"] = "MultiPolygon";
            for (const PolygonRings& p : g.polygons) coordinates.push_back(polygonJson(p));
            break;
    }
    out["coordinates"] = std::move(coordinates);
    return out;
}

}  // namespace

AnnotationImport parseGeoJson(std::string_view text, const std::string& path,
                              const AnnotationLimits& limits) {
    Reader reader{path, limits};
    json root;
    try {
        const json::parser_callback_t depthLimit = [&](int depth, json::parse_event_t, json&) {
            if (depth > limits.maxDepth)
                throw AnnotationError(
                    path, "JSON nested deeper than " + std::to_string(limits.maxDepth) + " levels");
            return true;
        };
        root = json::parse(text.begin(), text.end(), depthLimit);
    } catch (const json::exception& e) {
        throw AnnotationError(path, std::string("not valid JSON: ") + e.what());
    }
    const json* features = nullptr;
    json single = json::array();
    if (root.is_array()) {
        features = &root;
    } else if (root.is_object() && stringOr(root, "type") == "FeatureCollection" &&
               root.contains("features") && root["features"].is_array()) {
        features = &root["features"];
    } else if (root.is_object() && stringOr(root, "type") == "Feature") {
        single.push_back(root);
        features = &single;
    } else {
        reader.fail(
            "not GeoJSON annotations: expected a FeatureCollection, a Feature or an "
            "array of Features");
    }
    if (features->size() > limits.maxObjects)
        reader.fail(std::to_string(features->size()) + " objects, over the limit of " +
                    std::to_string(limits.maxObjects));

    AnnotationImport out;
    if (root.is_object() && root.contains("lucida") && root["lucida"].is_object()) {
        const json& l = root["lucida"];
        if (l.contains("image") && l["image"].is_object()) {
            const json& im = l["image"];
            if (im.contains("width") && im["width"].is_number_integer())
                out.set.imageWidth = im["width"].get<std::int64_t>();
            if (im.contains("height") && im["height"].is_number_integer())
                out.set.imageHeight = im["height"].get<std::int64_t>();
        }
        if (l.contains("classes") && l["classes"].is_array())
            for (const json& c : l["classes"]) {
                const std::string name = stringOr(c, "name");
                if (name.empty() || out.set.findClass(name)) continue;
                AnnotationClass k{name, colourOf(c.value("color", json())).value_or(0xC8C8C8),
                                  stringOr(c, "description")};
                out.set.classes.push_back(k);
            }
    }
    std::size_t index = 0;
    for (const json& f : *features) {
        const std::string where = "feature " + std::to_string(index++);
        try {
            if (!f.is_object() || stringOr(f, "type") != "Feature")
                throw std::invalid_argument(where + ": not a Feature");
            Annotation a;
            a.geometry = reader.geometry(f.value("geometry", json()), where);
            const json props = f.value("properties", json::object());
            a.id = f.contains("id") && f["id"].is_string() ? f["id"].get<std::string>()
                                                           : newAnnotationId();
            a.name = stringOr(props, "name");
            const std::string type =
                stringOr(props, "objectType", stringOr(props, "object_type", "annotation"));
            a.detection = type == "detection" || type == "cell" || type == "tile";
            if (props.is_object() && props.contains("isLocked") && props["isLocked"].is_boolean())
                a.locked = props["isLocked"].get<bool>();
            if (props.is_object() && props.contains("classification")) {
                const json& c = props["classification"];
                a.className = stringOr(c, "name");
                if (a.className.empty() && c.contains("names") && c["names"].is_array() &&
                    !c["names"].empty() && c["names"][0].is_string())
                    a.className = c["names"][0].get<std::string>();  // QuPath 0.5 derived classes
                out.set.useClass(a.className,
                                 c.is_object() && c.contains("color") ? colourOf(c["color"])
                                 : c.is_object() ? colourOf(c.value("colorRGB", json()))
                                                 : std::nullopt);
            }
            if (props.is_object() && props.contains("color")) a.colour = colourOf(props["color"]);
            const json l =
                props.is_object() ? props.value("lucida", json::object()) : json::object();
            a.tool = stringOr(l, "tool");
            a.text = stringOr(l, "text");
            a.description = stringOr(l, "description");
            if (l.is_object() && l.contains("slice") && l["slice"].is_number_integer())
                a.slice = int(std::clamp<long long>(l["slice"].get<long long>(), -1, 1 << 20));
            if (a.tool.empty()) a.tool = defaultToolFor(a.geometry);
            out.set.items.push_back(std::move(a));
        } catch (const std::invalid_argument& e) {
            out.notes.push_back(std::string(e.what()) + " (skipped)");
        }
    }
    repairAll(out, path);
    return out;
}

std::string writeGeoJson(const AnnotationSet& set) {
    json features = json::array();
    for (const Annotation& a : set.items) {
        json props = json::object();
        props["objectType"] = a.detection ? "detection" : "annotation";
        if (!a.name.empty()) props["name"] = a.name;
        if (!a.className.empty()) {
            const AnnotationClass* c = set.findClass(a.className);
            props["classification"] = {{"name", a.className},
                                       {"color", colourJson(c ? c->colour : 0xC8C8C8)}};
        }
        if (a.colour) props["color"] = colourJson(*a.colour);
        props["isLocked"] = a.locked;
        json l = json::object();
        if (!a.tool.empty()) l["tool"] = a.tool;
        if (!a.text.empty()) l["text"] = a.text;
        if (!a.description.empty()) l["description"] = a.description;
        if (a.slice >= 0) l["slice"] = a.slice;
        if (!l.empty()) props["lucida"] = std::move(l);
        features.push_back({{"type", "Feature"},
                            {"id", a.id.empty() ? newAnnotationId() : a.id},
                            {"geometry", geometryJson(a.geometry)},
                            {"properties", std::move(props)}});
    }
    json root = {{"type", "FeatureCollection"}, {"features", std::move(features)}};
    json l = {{"version", 1}};
    if (set.imageWidth && set.imageHeight)
        l["image"] = {{"width", *set.imageWidth}, {"height", *set.imageHeight}};
    json classes = json::array();
    for (const AnnotationClass& c : set.classes) {
        json k = {{"name", c.name}, {"color", colourJson(c.colour)}};
        if (!c.description.empty()) k["description"] = c.description;
        classes.push_back(std::move(k));
    }
    l["classes"] = std::move(classes);
    root["lucida"] = std::move(l);
    // Names from XML files or other tools may hold invalid UTF-8: replaced (U+FFFD), not thrown.
    return root.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace lucida
