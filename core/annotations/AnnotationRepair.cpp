#include "annotations/AnnotationRepair.h"

#include "annotations/AnnotationError.h"
#include "annotations/AnnotationGeometry.h"

namespace lucida {

std::string defaultToolFor(const Geometry& g) {
    switch (g.type) {
        case Geometry::Type::Point:
        case Geometry::Type::MultiPoint:
            return "point";
        case Geometry::Type::LineString:
            return g.points.size() == 2 ? "line" : "polyline";
        default:
            return "polygon";
    }
}

void repairAll(AnnotationImport& import, const std::string& path) {
    const std::size_t before = import.set.items.size() + import.notes.size();
    std::vector<Annotation> kept;
    kept.reserve(import.set.items.size());
    for (Annotation& a : import.set.items) {
        const std::string label = a.name.empty() ? "object " + a.id : "\"" + a.name + "\"";
        if (a.geometry.isArea()) {
            const std::string reason = invalidReason(a.geometry);
            if (!reason.empty()) {
                std::optional<Geometry> fixed = makeValid(a.geometry);
                if (!fixed) {
                    import.notes.push_back(label + ": invalid area (" + reason +
                                           ") with nothing left after repair (skipped)");
                    continue;
                }
                import.notes.push_back(label + ": invalid area (" + reason + ") repaired");
                a.geometry = std::move(*fixed);
            }
        }
        kept.push_back(std::move(a));
    }
    import.set.items = std::move(kept);
    if (import.set.items.empty() && before > 0)
        throw AnnotationError(path, "no usable annotation: " + import.notes.front());
}

void checkAgainstImage(AnnotationImport& import, const std::string& path, std::int64_t width,
                       std::int64_t height) {
    if (import.set.imageWidth && import.set.imageHeight &&
        (*import.set.imageWidth != width || *import.set.imageHeight != height))
        throw AnnotationError(
            path, "made for an image of " + std::to_string(*import.set.imageWidth) + " x " +
                      std::to_string(*import.set.imageHeight) + " pixels, this one is " +
                      std::to_string(width) + " x " + std::to_string(height));
    const double w = double(width), h = double(height);
    std::vector<Annotation> kept;
    std::size_t dropped = 0;
    for (Annotation& a : import.set.items) {
        const Bounds b = boundsOf(a.geometry);
        if (b.x1 < -w || b.y1 < -h || b.x0 > 2 * w || b.y0 > 2 * h) {
            ++dropped;
            continue;
        }
        kept.push_back(std::move(a));
    }
    if (dropped && kept.empty())
        throw AnnotationError(path, "every annotation lies far outside this " +
                                        std::to_string(width) + " x " + std::to_string(height) +
                                        " image: made for another image?");
    if (dropped)
        import.notes.push_back(std::to_string(dropped) +
                               " annotation(s) far outside the image (skipped)");
    import.set.items = std::move(kept);
}

}  // namespace lucida
