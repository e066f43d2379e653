// libFuzzer target: the annotation readers (QuPath GeoJSON, ASAP XML) from memory, then what
// they read written back in both formats and read again (GEOS repair included).
#include "annotations/AnnotationError.h"
#include "annotations/AnnotationFiles.h"

#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    lucida::AnnotationLimits limits;
    limits.maxVertices = 200000;  // keeps one input's work small; the limit path is exercised
    for (const bool xml : {false, true}) {
        try {
            const lucida::AnnotationImport in =
                xml ? lucida::parseAsapXml(text, "in.xml", limits)
                    : lucida::parseGeoJson(text, "in.geojson", limits);
            (void)lucida::parseGeoJson(lucida::writeGeoJson(in.set), "out.geojson", limits);
            (void)lucida::parseAsapXml(lucida::writeAsapXml(in.set), "out.xml", limits);
        } catch (const lucida::AnnotationError&) {
            // refused, naming the file and the reason
        }
    }
    return 0;
}
