#include "cohort/Cohort.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>

namespace lucida {
namespace fs = std::filesystem;

namespace {
std::string where(const std::string& path, std::size_t line) {
    return path + ":" + std::to_string(line);
}

// Splits one CSV record (no newlines inside quotes: a manifest line is one image).
std::vector<std::string> splitCsvLine(const std::string& line, const std::string& at) {
    std::vector<std::string> fields(1);
    bool quoted = false;
    for (std::size_t i = 0; i < line.size(); ++i) {
        const char c = line[i];
        if (quoted) {
            if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
                fields.back() += '"';
                ++i;
            } else if (c == '"') {
                quoted = false;
            } else {
                fields.back() += c;
            }
        } else if (c == '"' && fields.back().empty()) {
            quoted = true;
        } else if (c == ',') {
            fields.emplace_back();
        } else {
            fields.back() += c;
        }
    }
    if (quoted) throw CohortError(at, "a quoted field is not closed");
    for (auto& f : fields) {
        const auto b = f.find_first_not_of(" \t");
        const auto e = f.find_last_not_of(" \t");
        f = b == std::string::npos ? "" : f.substr(b, e - b + 1);
    }
    return fields;
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

// Manifests, projects, annotations and Lucida's outputs, which lie beside images but are none.
bool isListOrOutput(const std::string& name) {
    for (const char* suffix : {".csv", ".json", ".geojson", ".xml", ".log", ".lock"})
        if (name.ends_with(suffix)) return true;
    return name.find(".heat.tiff") != std::string::npos || name.ends_with(".probability.tiff") ||
           name.ends_with(".cam.tiff");
}

void checkSize(const std::string& path, const CohortLimits& limits) {
    std::error_code ec;
    const auto size = fs::file_size(path, ec);
    if (ec) throw CohortError(path, "cannot read: " + ec.message());
    if (size > limits.maxFileBytes)
        throw CohortError(path, "too large (" + std::to_string(size) + " bytes; at most " +
                                    std::to_string(limits.maxFileBytes) + ")");
}
}  // namespace

std::string resolveBeside(const std::string& listPath, const std::string& imagePath) {
    const fs::path p(imagePath);
    if (p.is_absolute()) return p.lexically_normal().string();
    return (fs::absolute(listPath).parent_path() / p).lexically_normal().string();
}

std::vector<CohortImage> readManifestCsv(const std::string& path, const CohortLimits& limits) {
    checkSize(path, limits);
    std::ifstream in(path, std::ios::binary);
    if (!in) throw CohortError(path, "cannot open");
    std::vector<CohortImage> images;
    std::string line;
    std::size_t number = 0;
    while (std::getline(in, line)) {
        ++number;
        const std::string at = where(path, number);
        if (line.size() > limits.maxLineBytes)
            throw CohortError(at,
                              "line longer than " + std::to_string(limits.maxLineBytes) + " bytes");
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (number == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);  // UTF-8 BOM
        if (line.find('\0') != std::string::npos) throw CohortError(at, "not text (a NUL byte)");
        const auto first = line.find_first_not_of(" \t");
        if (first == std::string::npos || line[first] == '#') continue;
        auto fields = splitCsvLine(line, at);
        if (images.empty() && lower(fields[0]) == "path") continue;  // the header
        if (fields.size() > 3)
            throw CohortError(at, std::to_string(fields.size()) +
                                      " columns; a manifest has path[,label[,group]]");
        if (fields[0].empty()) throw CohortError(at, "no image path");
        if (images.size() == limits.maxImages)
            throw CohortError(at, "more than " + std::to_string(limits.maxImages) + " images");
        fields.resize(3);
        images.push_back({resolveBeside(path, fields[0]), fields[1], fields[2], {}});
    }
    if (in.bad()) throw CohortError(path, "read error");
    if (images.empty()) throw CohortError(path, "lists no images");
    return images;
}

std::vector<CohortImage> readCohortFolder(const std::string& path, const CohortLimits& limits) {
    std::vector<CohortImage> images;
    std::error_code ec;
    for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.empty() || name[0] == '.' || !it->is_regular_file()) continue;
        if (isListOrOutput(name)) continue;
        if (images.size() == limits.maxImages)
            throw CohortError(path, "more than " + std::to_string(limits.maxImages) + " images");
        images.push_back({fs::absolute(it->path()).lexically_normal().string(), "", "", {}});
    }
    if (ec) throw CohortError(path, "cannot list: " + ec.message());
    if (images.empty()) throw CohortError(path, "holds no images");
    std::sort(images.begin(), images.end(),
              [](const auto& a, const auto& b) { return a.path < b.path; });
    return images;
}

std::vector<CohortImage> readCohort(const std::string& path, const CohortLimits& limits) {
    if (fs::is_directory(path)) return readCohortFolder(path, limits);
    if (lower(fs::path(path).extension().string()) == ".json") return readProjectFile(path, limits);
    return readManifestCsv(path, limits);
}

LabelValue labelValue(const std::string& label, const std::string& positiveClass,
                      const std::vector<std::string>& classes) {
    if (label.empty()) return LabelValue::Unknown;
    if (label == positiveClass) return LabelValue::Positive;
    if (std::find(classes.begin(), classes.end(), label) != classes.end())
        return LabelValue::Negative;
    const std::string l = lower(label);
    if (l == "1" || l == "true" || l == "positive") return LabelValue::Positive;
    if (l == "0" || l == "false" || l == "negative") return LabelValue::Negative;
    throw std::invalid_argument("label '" + label + "' is neither 0/1 nor a class of the model (" +
                                positiveClass + " is the positive one)");
}

}  // namespace lucida
