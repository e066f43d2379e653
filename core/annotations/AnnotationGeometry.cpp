#include "annotations/AnnotationGeometry.h"

#include <geos_c.h>

#include <memory>
#include <stdexcept>

namespace lucida {

namespace {

// One GEOS context per thread: GEOS's re-entrant API needs no locking then.
GEOSContextHandle_t context() {
    struct Context {
        GEOSContextHandle_t h = GEOS_init_r();
        ~Context() { GEOS_finish_r(h); }
    };
    thread_local Context c;
    return c.h;
}

struct GeomDeleter {
    void operator()(GEOSGeometry* g) const {
        if (g) GEOSGeom_destroy_r(context(), g);
    }
};
using Geom = std::unique_ptr<GEOSGeometry, GeomDeleter>;

GEOSCoordSequence* sequence(const std::vector<Point2>& points, bool close) {
    std::vector<double> xy;
    xy.reserve(2 * points.size() + 2);
    for (const Point2& p : points) xy.push_back(p.x), xy.push_back(p.y);
    if (close && !points.empty()) xy.push_back(points.front().x), xy.push_back(points.front().y);
    return GEOSCoordSeq_copyFromBuffer_r(context(), xy.data(), unsigned(xy.size() / 2), 0, 0);
}

GEOSGeometry* polygonOf(const PolygonRings& p) {
    GEOSContextHandle_t h = context();
    GEOSGeometry* shell = GEOSGeom_createLinearRing_r(h, sequence(p.outer, true));
    std::vector<GEOSGeometry*> holes;
    bool ok = shell != nullptr;
    for (const Ring& r : p.holes) {
        GEOSGeometry* hole = GEOSGeom_createLinearRing_r(h, sequence(r, true));
        if (hole)
            holes.push_back(hole);
        else
            ok = false;
    }
    if (!ok) {  // a ring GEOS refuses (fewer than 4 coordinates closed): nothing to build
        if (shell) GEOSGeom_destroy_r(h, shell);
        for (GEOSGeometry* hole : holes) GEOSGeom_destroy_r(h, hole);
        return nullptr;
    }
    return GEOSGeom_createPolygon_r(h, shell, holes.data(), unsigned(holes.size()));
}

Geom toGeos(const Geometry& g) {
    GEOSContextHandle_t h = context();
    switch (g.type) {
        case Geometry::Type::Point:
            return Geom(g.points.empty()
                            ? GEOSGeom_createEmptyPoint_r(h)
                            : GEOSGeom_createPointFromXY_r(h, g.points[0].x, g.points[0].y));
        case Geometry::Type::MultiPoint: {
            std::vector<GEOSGeometry*> parts;
            for (const Point2& p : g.points)
                parts.push_back(GEOSGeom_createPointFromXY_r(h, p.x, p.y));
            return Geom(GEOSGeom_createCollection_r(h, GEOS_MULTIPOINT, parts.data(),
                                                    unsigned(parts.size())));
        }
        case Geometry::Type::LineString:
            return Geom(GEOSGeom_createLineString_r(h, sequence(g.points, false)));
        case Geometry::Type::Polygon:
        case Geometry::Type::MultiPolygon: {
            std::vector<GEOSGeometry*> parts;
            for (const PolygonRings& p : g.polygons)
                if (GEOSGeometry* part = polygonOf(p)) parts.push_back(part);
            if (parts.empty()) return nullptr;
            if (g.type == Geometry::Type::Polygon && parts.size() == 1) return Geom(parts[0]);
            return Geom(GEOSGeom_createCollection_r(h, GEOS_MULTIPOLYGON, parts.data(),
                                                    unsigned(parts.size())));
        }
    }
    return nullptr;
}

Ring ringOf(const GEOSGeometry* ring) {
    GEOSContextHandle_t h = context();
    const GEOSCoordSequence* s = GEOSGeom_getCoordSeq_r(h, ring);
    unsigned n = 0;
    GEOSCoordSeq_getSize_r(h, s, &n);
    std::vector<double> xy(2 * std::size_t(n));
    if (n) GEOSCoordSeq_copyToBuffer_r(h, s, xy.data(), 0, 0);
    Ring r;
    for (unsigned i = 0; i < n; ++i) r.push_back({xy[2 * i], xy[2 * i + 1]});
    if (r.size() > 1 && r.front() == r.back()) r.pop_back();
    return r;
}

// The polygonal parts of `g` (a Polygon, MultiPolygon or a collection holding them).
void collectPolygons(const GEOSGeometry* g, std::vector<PolygonRings>& out) {
    GEOSContextHandle_t h = context();
    const int type = GEOSGeomTypeId_r(h, g);
    if (type == GEOS_POLYGON) {
        if (GEOSisEmpty_r(h, g)) return;
        PolygonRings p;
        p.outer = ringOf(GEOSGetExteriorRing_r(h, g));
        for (int k = 0; k < GEOSGetNumInteriorRings_r(h, g); ++k)
            p.holes.push_back(ringOf(GEOSGetInteriorRingN_r(h, g, k)));
        if (p.outer.size() >= 3) out.push_back(std::move(p));
    } else if (type == GEOS_MULTIPOLYGON || type == GEOS_GEOMETRYCOLLECTION) {
        // One level of nesting at most in GEOS's own results: no recursion on file data.
        for (int k = 0; k < GEOSGetNumGeometries_r(h, g); ++k) {
            const GEOSGeometry* part = GEOSGetGeometryN_r(h, g, k);
            if (GEOSGeomTypeId_r(h, part) == GEOS_POLYGON)
                collectPolygons(part, out);
            else if (GEOSGeomTypeId_r(h, part) == GEOS_MULTIPOLYGON)
                for (int j = 0; j < GEOSGetNumGeometries_r(h, part); ++j)
                    collectPolygons(GEOSGetGeometryN_r(h, part, j), out);
        }
    }
}

std::optional<Geometry> areaOf(const GEOSGeometry* g) {
    Geometry out;
    if (g) collectPolygons(g, out.polygons);
    if (out.polygons.empty()) return std::nullopt;
    out.type = out.polygons.size() == 1 ? Geometry::Type::Polygon : Geometry::Type::MultiPolygon;
    return out;
}

}  // namespace

double geometryArea(const Geometry& g) {
    if (!g.isArea()) return 0;
    Geom geos = toGeos(g);
    double area = 0;
    if (!geos || !GEOSArea_r(context(), geos.get(), &area)) return 0;
    return area;
}

double geometryLength(const Geometry& g) {
    if (!g.isLine()) return 0;
    Geom geos = toGeos(g);
    double length = 0;
    if (!geos || !GEOSLength_r(context(), geos.get(), &length)) return 0;
    return length;
}

std::string invalidReason(const Geometry& g) {
    Geom geos = toGeos(g);
    if (!geos) return "cannot be built";
    if (GEOSisValid_r(context(), geos.get()) == 1) return {};
    char* reason = GEOSisValidReason_r(context(), geos.get());
    std::string out = reason ? reason : "invalid";
    GEOSFree_r(context(), reason);
    return out;
}

std::optional<Geometry> makeValid(const Geometry& g) {
    Geom geos = toGeos(g);
    if (!geos) return std::nullopt;
    Geom valid(GEOSMakeValid_r(context(), geos.get()));
    return areaOf(valid.get());
}

std::optional<Geometry> unite(const Geometry& a, const Geometry& b) {
    Geom ga = toGeos(a), gb = toGeos(b);
    Geom u(ga && gb ? GEOSUnion_r(context(), ga.get(), gb.get()) : nullptr);
    return areaOf(u.get());
}

std::optional<Geometry> subtract(const Geometry& a, const Geometry& b) {
    Geom ga = toGeos(a), gb = toGeos(b);
    Geom d(ga && gb ? GEOSDifference_r(context(), ga.get(), gb.get()) : nullptr);
    return areaOf(d.get());
}

Geometry strokeArea(const std::vector<Point2>& stroke, double radius) {
    Geometry line;
    line.type = stroke.size() == 1 ? Geometry::Type::Point : Geometry::Type::LineString;
    line.points = stroke;
    Geom geos = toGeos(line);
    Geom disc(geos ? GEOSBuffer_r(context(), geos.get(), radius, 16) : nullptr);
    return areaOf(disc.get()).value_or(Geometry{});
}

Geometry simplify(const Geometry& g, double tolerance) {
    if (!g.isArea() && !g.isLine()) return g;
    Geom geos = toGeos(g);
    Geom s(geos ? GEOSTopologyPreserveSimplify_r(context(), geos.get(), tolerance) : nullptr);
    if (!s) return g;
    if (g.isArea()) return areaOf(s.get()).value_or(g);
    Geometry out = g;
    out.points = ringOf(s.get());
    return out;
}

bool containsPoint(const Geometry& g, Point2 p) {
    if (!g.isArea()) return false;
    Geom geos = toGeos(g);
    Geom point(GEOSGeom_createPointFromXY_r(context(), p.x, p.y));
    return geos && GEOSContains_r(context(), geos.get(), point.get()) == 1;
}

}  // namespace lucida
