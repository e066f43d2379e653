#include "annotations/Annotation.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <random>

namespace lucida {

std::size_t Geometry::vertexCount() const {
    std::size_t n = points.size();
    for (const PolygonRings& p : polygons) {
        n += p.outer.size();
        for (const Ring& h : p.holes) n += h.size();
    }
    return n;
}

Bounds boundsOf(const Geometry& g) {
    constexpr double inf = std::numeric_limits<double>::infinity();
    Bounds b{inf, inf, -inf, -inf};
    auto add = [&](const Point2& p) {
        b.x0 = std::min(b.x0, p.x), b.y0 = std::min(b.y0, p.y);
        b.x1 = std::max(b.x1, p.x), b.y1 = std::max(b.y1, p.y);
    };
    for (const Point2& p : g.points) add(p);
    for (const PolygonRings& p : g.polygons) std::for_each(p.outer.begin(), p.outer.end(), add);
    return b;
}

const std::vector<AnnotationClass>& defaultAnnotationClasses() {
    static const std::vector<AnnotationClass> classes = {
        {"Tumour", 0xC80000, "Tumour cells or tumour region"},
        {"Stroma", 0x96C896, "Stroma, connective tissue"},
        {"Immune cells", 0xA05AA0, "Lymphocytes and other immune cells"},
        {"Necrosis", 0x323232, "Necrotic tissue"},
        {"Other", 0xFFC800, "Anything else"},
    };
    return classes;
}

const AnnotationClass* AnnotationSet::findClass(const std::string& name) const {
    auto it = std::find_if(classes.begin(), classes.end(),
                           [&](const AnnotationClass& c) { return c.name == name; });
    return it == classes.end() ? nullptr : &*it;
}

void AnnotationSet::useClass(const std::string& name, std::optional<Rgb> colour) {
    if (name.empty() || findClass(name)) return;
    AnnotationClass c{name, 0xC8C8C8, {}};
    if (colour) {
        c.colour = *colour;
    } else {
        for (const AnnotationClass& d : defaultAnnotationClasses())
            if (d.name == name) c.colour = d.colour;
    }
    classes.push_back(c);
}

std::string newAnnotationId() {
    thread_local std::mt19937_64 random{std::random_device{}()};
    const std::uint64_t a = random(), b = random();
    char s[37];
    std::snprintf(s, sizeof s, "%08x-%04x-4%03x-%04x-%012llx", unsigned(a >> 32),
                  unsigned((a >> 16) & 0xFFFF), unsigned(a & 0xFFF),
                  unsigned(0x8000 | ((b >> 48) & 0x3FFF)),
                  static_cast<unsigned long long>(b & 0xFFFFFFFFFFFFull));
    return s;
}

}  // namespace lucida
