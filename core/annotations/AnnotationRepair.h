#pragma once
// What readers do after parsing: every area checked with GEOS, self-intersecting ones repaired
// (MakeValid) or dropped, each said in the import's notes.

#include "annotations/AnnotationFiles.h"

namespace lucida {

// The tool a geometry is edited with when the file does not say ("polygon" for areas, ...).
std::string defaultToolFor(const Geometry& g);

// Repairs or drops invalid areas in `import`, noting each; throws AnnotationError naming `path`
// when the file had objects and none is left.
void repairAll(AnnotationImport& import, const std::string& path);

// Annotations wholly outside an image of `width` x `height` (more than the image's own size
// beyond its edges) are dropped and noted; throws when none is left of a non-empty set, or when
// the file names another image size — the file was made for another image.
void checkAgainstImage(AnnotationImport& import, const std::string& path, std::int64_t width,
                       std::int64_t height);

}  // namespace lucida
