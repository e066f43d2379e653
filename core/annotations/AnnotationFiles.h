#pragma once
// Reading and writing annotation files: GeoJSON as QuPath 0.2-0.5 writes it, and ASAP's XML.
// Every file is untrusted: bounded size, depth and counts; errors name the file and the reason.

#include "annotations/Annotation.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lucida {

struct AnnotationLimits {
    std::uint64_t maxFileBytes = 128ull << 20;  // the parsed tree takes ~10x the file
    std::size_t maxObjects = 2'000'000;
    std::size_t maxVertices = 50'000'000;  // over all objects
    int maxDepth = 64;                     // JSON nesting
    double maxCoordinate = 1e9;            // |x|, |y| in level-0 pixels
};

// What a reader made of a file: the annotations, and what it had to skip or repair (one line
// each, naming the object), for the user to see.
struct AnnotationImport {
    AnnotationSet set;
    std::vector<std::string> notes;
};

enum class AnnotationFormat { GeoJson, AsapXml };
// By extension (.geojson/.json, .xml), else by the first non-blank character.
AnnotationFormat annotationFormatOf(const std::string& path, std::string_view head = {});

AnnotationImport readAnnotationFile(const std::string& path, const AnnotationLimits& = {});
// `path` is only for messages.
AnnotationImport parseGeoJson(std::string_view text, const std::string& path,
                              const AnnotationLimits& = {});
AnnotationImport parseAsapXml(std::string_view text, const std::string& path,
                              const AnnotationLimits& = {});

// A FeatureCollection QuPath imports (objectType, classification {name, color}, isLocked, name),
// with Lucida's own fields (tool, text, slice, description, the image size, the classes) kept
// under "lucida" keys QuPath ignores. `notes` receives nothing: GeoJSON holds everything.
std::string writeGeoJson(const AnnotationSet& set);
// ASAP XML. It has no holes, multi-part areas or lines of more than two points: those are
// written as ASAP can hold them, each loss one line in `notes`.
std::string writeAsapXml(const AnnotationSet& set, std::vector<std::string>* notes = nullptr);

// Writes `set` to `path` atomically in the format its extension names; the version it replaces
// is kept as previousVersionPath(path).
void writeAnnotationFile(const std::string& path, const AnnotationSet& set,
                         std::vector<std::string>* notes = nullptr);

std::string previousVersionPath(const std::string& path);

}  // namespace lucida
