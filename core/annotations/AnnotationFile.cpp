#include "annotations/AnnotationError.h"
#include "annotations/AnnotationFiles.h"
#include "io/AtomicFile.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <system_error>

namespace lucida {

namespace fs = std::filesystem;

AnnotationFormat annotationFormatOf(const std::string& path, std::string_view head) {
    std::string ext = fs::path(path).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    if (ext == ".geojson" || ext == ".json") return AnnotationFormat::GeoJson;
    if (ext == ".xml") return AnnotationFormat::AsapXml;
    for (char c : head)
        if (!std::isspace(static_cast<unsigned char>(c)))
            return c == '<' ? AnnotationFormat::AsapXml : AnnotationFormat::GeoJson;
    return AnnotationFormat::GeoJson;
}

AnnotationImport readAnnotationFile(const std::string& path, const AnnotationLimits& limits) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) throw AnnotationError(path, "no such file");
    const std::uintmax_t size = fs::file_size(path, ec);
    if (ec) throw AnnotationError(path, "cannot read: " + ec.message());
    if (size > limits.maxFileBytes)
        throw AnnotationError(
            path, "file of " + std::to_string(size >> 20) + " MiB is over the limit of " +
                      std::to_string(limits.maxFileBytes >> 20) + " MiB for annotation files");
    std::ifstream in(path, std::ios::binary);
    std::string text(size, '\0');
    if (!in.read(text.data(), std::streamsize(size)))
        throw AnnotationError(path, "cannot read the file");
    return annotationFormatOf(path, std::string_view(text).substr(0, 64)) ==
                   AnnotationFormat::AsapXml
               ? parseAsapXml(text, path, limits)
               : parseGeoJson(text, path, limits);
}

std::string previousVersionPath(const std::string& path) { return path + ".previous"; }

void writeAnnotationFile(const std::string& path, const AnnotationSet& set,
                         std::vector<std::string>* notes) {
    const std::string bytes = annotationFormatOf(path) == AnnotationFormat::AsapXml
                                  ? writeAsapXml(set, notes)
                                  : writeGeoJson(set);
    // The version being replaced is kept: hard-linked to a temporary name, then renamed over
    // the previous one, so at every moment both names hold a complete file.
    std::error_code ec;
    if (fs::is_regular_file(path, ec)) {
        const std::string previous = previousVersionPath(path);
        const std::string link = previous + ".link";
        fs::remove(link, ec);
        fs::create_hard_link(path, link, ec);
        if (!ec) fs::rename(link, previous, ec);
        if (ec) fs::remove(link, ec);
    }
    writeFileAtomically(path, bytes);
}

}  // namespace lucida
