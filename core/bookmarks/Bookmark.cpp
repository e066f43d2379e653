#include "bookmarks/Bookmark.h"

#include "cam/CamMaps.h"
#include "image/FileError.h"
#include "io/AtomicFile.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <initializer_list>
#include <stdexcept>

namespace lucida {

namespace {

using nlohmann::json;
constexpr const char* kFormat = "lucida-bookmarks";
constexpr int kVersion = 1;
constexpr double kMaxCoordinate = 1e9;  // level-0 pixels: larger than any slide
constexpr int kMaxSlice = 1'000'000;
constexpr int kMaxClassIndex = 100'000;
constexpr std::size_t kMaxShortText = 64;  // method, colour map

// Thrown inside the parser; turned into a FileError naming the file by the caller.
struct Refusal : std::runtime_error {
    using std::runtime_error::runtime_error;
};

const json& field(const json& object, const char* name, const std::string& where) {
    const auto it = object.find(name);
    if (it == object.end()) throw Refusal(where + ": \"" + name + "\" is missing");
    return *it;
}

double number(const json& object, const char* name, double low, double high,
              const std::string& where) {
    const json& v = field(object, name, where);
    if (!v.is_number()) throw Refusal(where + ": \"" + name + "\" is not a number");
    const double d = v.get<double>();
    if (!std::isfinite(d) || d < low || d > high)
        throw Refusal(where + ": \"" + name + "\" is out of range");
    return d;
}

int integer(const json& object, const char* name, int low, int high, const std::string& where) {
    const json& v = field(object, name, where);
    if (!v.is_number_integer()) throw Refusal(where + ": \"" + name + "\" is not an integer");
    const auto i = v.get<std::int64_t>();
    if (i < low || i > high) throw Refusal(where + ": \"" + name + "\" is out of range");
    return static_cast<int>(i);
}

std::string text(const json& object, const char* name, std::size_t maxBytes,
                 const std::string& where) {
    const json& v = field(object, name, where);
    if (!v.is_string()) throw Refusal(where + ": \"" + name + "\" is not text");
    std::string s = v.get<std::string>();
    if (s.size() > maxBytes) throw Refusal(where + ": \"" + name + "\" is too long");
    return s;
}

bool boolean(const json& object, const char* name, const std::string& where) {
    const json& v = field(object, name, where);
    if (!v.is_boolean()) throw Refusal(where + ": \"" + name + "\" is not true or false");
    return v.get<bool>();
}

std::string oneOf(const json& object, const char* name, std::initializer_list<const char*> allowed,
                  const std::string& where) {
    std::string s = text(object, name, kMaxShortText, where);
    for (const char* a : allowed)
        if (s == a) return s;
    throw Refusal(where + ": \"" + name + "\" is not a known value");
}

BookmarkHeat heatFrom(const json& h, const std::string& where) {
    if (!h.is_object()) throw Refusal(where + " is not an object");
    BookmarkHeat heat;
    heat.shown = boolean(h, "shown", where);
    heat.outlineShown = boolean(h, "outlineShown", where);
    heat.layer = oneOf(h, "layer", {"cam", "probability"}, where);
    heat.method = text(h, "method", kMaxShortText, where);
    heat.classIndex = integer(h, "classIndex", -1, kMaxClassIndex, where);
    heat.colourMap = text(h, "colourMap", kMaxShortText, where);
    try {
        (void)colourMapFromName(heat.colourMap);
    } catch (const std::invalid_argument&) {
        throw Refusal(where + ": unknown colour map \"" + heat.colourMap + "\"");
    }
    heat.normalisation = oneOf(h, "normalisation", {"slide", "patch"}, where);
    heat.opacity = number(h, "opacity", 0, 1, where);
    heat.threshold = number(h, "threshold", 0, 1, where);
    return heat;
}

Bookmark bookmarkFrom(const json& b, const std::string& where) {
    if (!b.is_object()) throw Refusal(where + " is not an object");
    Bookmark out;
    out.name = text(b, "name", kMaxBookmarkNameBytes, where);
    if (out.name.empty()) throw Refusal(where + ": \"name\" is empty");
    const json& centre = field(b, "centre", where);
    if (!centre.is_array() || centre.size() != 2 || !centre[0].is_number() ||
        !centre[1].is_number())
        throw Refusal(where + ": \"centre\" is not [x, y]");
    out.centreX = centre[0].get<double>();
    out.centreY = centre[1].get<double>();
    for (double c : {out.centreX, out.centreY})
        if (!std::isfinite(c) || std::abs(c) > kMaxCoordinate)
            throw Refusal(where + ": \"centre\" is out of range");
    out.scale = number(b, "scale", 1e-9, 1e6, where);
    out.quarterTurns = integer(b, "quarterTurns", 0, 3, where);
    out.slice = integer(b, "slice", 0, kMaxSlice, where);
    if (b.contains("window")) {
        const json& w = b["window"];
        if (!w.is_object()) throw Refusal(where + ": \"window\" is not an object");
        out.window = BookmarkWindow{number(w, "centre", -1e9, 1e9, where + " window"),
                                    number(w, "width", 1e-9, 1e9, where + " window")};
    }
    if (b.contains("heat")) out.heat = heatFrom(b["heat"], where + " heat");
    return out;
}

json toJson(const Bookmark& b) {
    json j = {{"name", b.name},
              {"centre", {b.centreX, b.centreY}},
              {"scale", b.scale},
              {"quarterTurns", b.quarterTurns},
              {"slice", b.slice}};
    if (b.window) j["window"] = {{"centre", b.window->centre}, {"width", b.window->width}};
    if (const auto& h = b.heat)
        j["heat"] = {{"shown", h->shown},
                     {"outlineShown", h->outlineShown},
                     {"layer", h->layer},
                     {"method", h->method},
                     {"classIndex", h->classIndex},
                     {"colourMap", h->colourMap},
                     {"normalisation", h->normalisation},
                     {"opacity", h->opacity},
                     {"threshold", h->threshold}};
    return j;
}

}  // namespace

std::string bookmarksToJson(const std::vector<Bookmark>& bookmarks) {
    json list = json::array();
    for (const Bookmark& b : bookmarks) list.push_back(toJson(b));
    const json root = {{"format", kFormat}, {"version", kVersion}, {"bookmarks", std::move(list)}};
    return root.dump(2) + "\n";
}

std::vector<Bookmark> bookmarksFromJson(std::string_view source, const std::string& path) {
    if (source.size() > kMaxBookmarkFileBytes)
        throw FileError(path, "too large for a bookmark file (" + std::to_string(source.size()) +
                                  " bytes; at most " + std::to_string(kMaxBookmarkFileBytes) + ")");
    try {
        // The parser reports each nesting level as it opens: deeper than a bookmark file goes is
        // refused before anything is built there.
        const json::parser_callback_t depthLimit = [](int depth, json::parse_event_t event, json&) {
            if ((event == json::parse_event_t::object_start ||
                 event == json::parse_event_t::array_start) &&
                depth >= kMaxBookmarkJsonDepth)
                throw Refusal("nested deeper than a bookmark file is");
            return true;
        };
        const json root = json::parse(source.begin(), source.end(), depthLimit);
        if (!root.is_object() || root.value("format", std::string()) != kFormat)
            throw Refusal("not a Lucida bookmark file (\"format\" is not \"lucida-bookmarks\")");
        const int version = integer(root, "version", 1, 1'000'000, "the file");
        if (version > kVersion)
            throw Refusal("version " + std::to_string(version) +
                          " is newer than this Lucida reads (" + std::to_string(kVersion) + ")");
        const json& list = field(root, "bookmarks", "the file");
        if (!list.is_array()) throw Refusal("\"bookmarks\" is not a list");
        if (list.size() > kMaxBookmarks)
            throw Refusal("more than " + std::to_string(kMaxBookmarks) + " bookmarks");
        std::vector<Bookmark> out;
        out.reserve(list.size());
        for (std::size_t i = 0; i < list.size(); ++i)
            out.push_back(bookmarkFrom(list[i], "bookmark " + std::to_string(i + 1)));
        return out;
    } catch (const Refusal& e) {
        throw FileError(path, e.what());
    } catch (const json::exception& e) {
        throw FileError(path, std::string("not valid JSON: ") + e.what());
    }
}

std::vector<Bookmark> readBookmarksFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw FileError(path, "cannot be opened");
    std::string bytes;
    bytes.resize(kMaxBookmarkFileBytes + 1);
    in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (in.bad()) throw FileError(path, "cannot be read");
    bytes.resize(static_cast<std::size_t>(in.gcount()));
    return bookmarksFromJson(bytes, path);  // refuses what filled the whole buffer
}

void writeBookmarksFile(const std::string& path, const std::vector<Bookmark>& bookmarks) {
    writeFileAtomically(path, bookmarksToJson(bookmarks));
}

}  // namespace lucida
