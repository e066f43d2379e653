#include "cohort/Cohort.h"
#include "io/AtomicFile.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <iterator>

namespace lucida {

CohortProject readProject(const std::string& path, const CohortLimits& limits) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw CohortError(path, "cannot open");
    std::string text;
    text.resize(limits.maxFileBytes + 1);
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    if (static_cast<std::size_t>(in.gcount()) > limits.maxFileBytes)
        throw CohortError(
            path, "too large (more than " + std::to_string(limits.maxFileBytes) + " bytes)");
    text.resize(static_cast<std::size_t>(in.gcount()));
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(text);  // iterative parser: depth costs memory, not stack
    } catch (const nlohmann::json::exception& e) {
        throw CohortError(path, std::string("not JSON: ") + e.what());
    }
    if (!j.is_object() || !j.contains("images") || !j["images"].is_array())
        throw CohortError(path, "not a Lucida project (no \"images\" list)");
    if (j["images"].size() > limits.maxImages)
        throw CohortError(path, "more than " + std::to_string(limits.maxImages) + " images");
    std::vector<CohortImage> images;
    std::size_t index = 0;
    for (const auto& entry : j["images"]) {
        const std::string at = path + ": image " + std::to_string(++index);
        const auto text = [&](const char* key) -> std::string {
            if (!entry.contains(key) || entry[key].is_null()) return "";
            if (entry[key].is_string()) return entry[key].get<std::string>();
            if (entry[key].is_number_integer()) return std::to_string(entry[key].get<long long>());
            throw CohortError(at, std::string("\"") + key + "\" is not text");
        };
        if (!entry.is_object()) throw CohortError(at, "not an object");
        const std::string image = text("path");
        if (image.empty()) throw CohortError(at, "no \"path\"");
        CohortImage read{resolveBeside(path, image), text("label"), text("group"), {}};
        if (entry.contains("settings") && !entry["settings"].is_null())
            read.settings = imageSettingsFromJson(entry["settings"], at + " (" + image + ")");
        images.push_back(std::move(read));
    }
    if (images.empty()) throw CohortError(path, "lists no images");
    CohortProject project{std::move(images), ""};
    if (j.contains("results") && !j["results"].is_null()) {
        if (!j["results"].is_string() || j["results"].get<std::string>().empty())
            throw CohortError(path, "\"results\" is not a folder name");
        project.resultsDir = resolveBeside(path, j["results"].get<std::string>());
    }
    return project;
}

std::vector<CohortImage> readProjectFile(const std::string& path, const CohortLimits& limits) {
    return readProject(path, limits).images;
}

void writeProjectFile(const std::string& path, const std::vector<CohortImage>& images,
                      const std::string& resultsDir) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& image : images) {
        nlohmann::json entry = {
            {"path", image.path}, {"label", image.label}, {"group", image.group}};
        if (!image.settings.empty()) entry["settings"] = imageSettingsToJson(image.settings);
        list.push_back(std::move(entry));
    }
    nlohmann::json j = {{"lucida_project", 1}, {"images", list}};
    if (!resultsDir.empty()) j["results"] = resultsDir;
    writeFileAtomically(path, j.dump(2) + "\n");
}

}  // namespace lucida
