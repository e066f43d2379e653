#include "cohort/ImageSettings.h"

#include "cohort/Cohort.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <stdexcept>

namespace lucida {

// Defined in cam/CamMethodNames.cpp, which is torch-free (its header, CamMethod.h, is not).
std::vector<std::string> camMethodNames();

namespace {
constexpr std::size_t kMaxText = 256;
constexpr double kMaxPixelSize = 100000;  // µm: 10 cm pixels are no image

std::string joined(const std::vector<std::string>& words) {
    std::string s;
    for (const auto& w : words) s += (s.empty() ? "" : ", ") + w;
    return s;
}

std::string number(double v) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", v);
    return text;
}

// Reads the settings of one image; every refusal names the key.
class Reader {
public:
    Reader(const nlohmann::json& j, const std::string& at) : j_(j), at_(at) {}

    [[noreturn]] void refuse(const std::string& key, const std::string& why) const {
        throw CohortError(at_, "settings \"" + key + "\": " + why);
    }
    std::optional<double> number(const char* key, double low, double high, bool openLow) const {
        if (!j_.contains(key) || j_[key].is_null()) return std::nullopt;
        if (!j_[key].is_number()) refuse(key, "not a number");
        const double v = j_[key].get<double>();
        if (!(openLow ? v > low : v >= low) || !(v <= high))
            refuse(key, lucida::number(v) + " is outside " + (openLow ? "(" : "[") +
                            lucida::number(low) + ", " + lucida::number(high) + "]");
        return v;
    }
    std::optional<std::string> text(const char* key, const std::vector<std::string>& allowed = {},
                                    bool indexToo = false) const {
        if (!j_.contains(key) || j_[key].is_null()) return std::nullopt;
        if (indexToo && j_[key].is_number_unsigned())
            return std::to_string(j_[key].get<unsigned long long>());
        if (!j_[key].is_string()) refuse(key, "not text");
        const std::string v = j_[key].get<std::string>();
        if (v.empty() || v.size() > kMaxText)
            refuse(key, "empty or longer than " + std::to_string(kMaxText) + " bytes");
        if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), v) == allowed.end())
            refuse(key, "'" + v + "' is none of " + joined(allowed));
        return v;
    }
    bool flag(const char* key) const {
        if (!j_.contains(key) || j_[key].is_null()) return false;
        if (!j_[key].is_boolean()) refuse(key, "not true or false");
        return j_[key].get<bool>();
    }

private:
    const nlohmann::json& j_;
    const std::string& at_;
};
}  // namespace

std::string modeName(AnalysisMode mode) { return mode == AnalysisMode::Dense ? "dense" : "patch"; }

std::string fitName(ImageFit fit) {
    return fit == ImageFit::WholeImage ? "whole" : fit == ImageFit::Patches ? "patches" : "auto";
}

std::string analysisPrecisionName(bool int8) { return int8 ? "int8" : "fp32"; }

bool ImageSettings::empty() const { return *this == ImageSettings{}; }

std::vector<std::string> imageSettingsMethods() { return camMethodNames(); }

std::vector<std::string> imageSettingsKeys() {
    return {"pixel_size_um", "mode",  "precision", "overlap",    "fit",
            "method",        "class", "layer",     "min_tissue", "excluded"};
}

ImageSettings imageSettingsFromJson(const nlohmann::json& j, const std::string& at) {
    if (!j.is_object()) throw CohortError(at, "\"settings\" is not an object");
    const auto keys = imageSettingsKeys();
    for (const auto& [key, value] : j.items())
        if (std::find(keys.begin(), keys.end(), key) == keys.end())
            throw CohortError(at, "settings: unknown key \"" + key.substr(0, kMaxText) +
                                      "\" (known: " + joined(keys) + ")");
    const Reader r(j, at);
    ImageSettings s;
    s.pixelSize = r.number("pixel_size_um", 0, kMaxPixelSize, true);
    if (const auto mode = r.text("mode", {"patch", "dense"}))
        s.mode = *mode == "dense" ? AnalysisMode::Dense : AnalysisMode::Patch;
    if (const auto precision = r.text("precision", {"fp32", "int8"})) s.int8 = *precision == "int8";
    s.overlap = r.number("overlap", 0, 0.75, false);
    if (const auto fit = r.text("fit", {"auto", "whole", "patches"}))
        s.fit = *fit == "whole"     ? ImageFit::WholeImage
                : *fit == "patches" ? ImageFit::Patches
                                    : ImageFit::Auto;
    s.method = r.text("method", camMethodNames());
    s.classChoice = r.text("class", {}, true);
    s.layer = r.text("layer");
    s.minTissue = r.number("min_tissue", 0, 1, false);
    s.excluded = r.flag("excluded");
    return s;
}

nlohmann::json imageSettingsToJson(const ImageSettings& s) {
    nlohmann::json j = nlohmann::json::object();
    if (s.pixelSize) j["pixel_size_um"] = *s.pixelSize;
    if (s.mode) j["mode"] = modeName(*s.mode);
    if (s.int8) j["precision"] = analysisPrecisionName(*s.int8);
    if (s.overlap) j["overlap"] = *s.overlap;
    if (s.fit) j["fit"] = fitName(*s.fit);
    if (s.method) j["method"] = *s.method;
    if (s.classChoice) j["class"] = *s.classChoice;
    if (s.layer) j["layer"] = *s.layer;
    if (s.minTissue) j["min_tissue"] = *s.minTissue;
    if (s.excluded) j["excluded"] = true;
    return j;
}

AnalysisSettings effectiveSettings(AnalysisSettings base, const ImageSettings& own,
                                   const std::vector<std::string>& classes) {
    if (own.mode) base.mode = *own.mode;
    if (own.int8) base.int8 = *own.int8;  // core runs fp32 where int8 does not apply
    if (own.overlap) base.overlap = *own.overlap;
    if (own.fit) base.fit = *own.fit;
    if (own.method) base.method = *own.method;
    if (own.layer) base.layer = *own.layer;
    if (own.minTissue) base.minTissue = *own.minTissue;
    if (own.classChoice) {
        const auto named = std::find(classes.begin(), classes.end(), *own.classChoice);
        if (named != classes.end()) {
            base.classIndex = static_cast<int>(named - classes.begin());
        } else {
            std::size_t used = 0;
            int index = -1;
            try {
                index = std::stoi(*own.classChoice, &used);
            } catch (const std::exception&) {
                used = 0;
            }
            if (used != own.classChoice->size() || index < 0 ||
                index >= static_cast<int>(classes.size()))
                throw std::invalid_argument("class '" + *own.classChoice +
                                            "' is not a class of the model (" + joined(classes) +
                                            ")");
            base.classIndex = index;
        }
    }
    return base;
}

std::string describe(const ImageSettings& s) {
    std::vector<std::string> parts;
    if (s.excluded) parts.push_back("excluded");
    if (s.pixelSize) parts.push_back(number(*s.pixelSize) + " µm/px");
    if (s.mode) parts.push_back(modeName(*s.mode));
    if (s.int8) parts.push_back(analysisPrecisionName(*s.int8));
    if (s.overlap) parts.push_back("overlap " + number(*s.overlap));
    if (s.fit) parts.push_back("fit " + fitName(*s.fit));
    if (s.method) parts.push_back(*s.method);
    if (s.classChoice) parts.push_back("class " + *s.classChoice);
    if (s.layer) parts.push_back("layer " + *s.layer);
    if (s.minTissue) parts.push_back("tissue ≥ " + number(*s.minTissue));
    return joined(parts);
}

}  // namespace lucida
