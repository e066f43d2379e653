#include "model/ModelSpec.h"

#include "io/AtomicFile.h"
#include "model/ModelError.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace lucida {

namespace {
[[noreturn]] void fail(const std::string& path, const std::string& what) {
    throw ModelError(path, what);
}

std::string number(double v) {
    std::ostringstream s;
    s << v;
    return s.str();
}

// A physical scale: finite, positive and within [low, high] (µm per pixel, magnification).
double scaleField(const nlohmann::json& j, const char* field, double low, double high,
                  const char* unit, const std::string& path) {
    const auto& v = j.at(field);
    if (!v.is_number()) fail(path, std::string(field) + " must be a number");
    const double x = v.get<double>();
    if (!std::isfinite(x) || x <= 0)
        fail(path, std::string(field) + " must be a positive number, not " + number(x));
    if (x < low || x > high)
        fail(path, std::string(field) + " " + number(x) + " is outside the plausible " +
                       number(low) + " to " + number(high) + " " + unit);
    return x;
}
}  // namespace

std::string sidecarPathFor(const std::string& modelPath) {
    return std::filesystem::path(modelPath).replace_extension(".json").string();
}

ModelSpec readModelSpec(const std::string& path) {
    std::ifstream in(path);
    if (!in) fail(path, "cannot read the model sidecar");
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
        fail(path, std::string("sidecar is not valid JSON: ") + e.what());
    }
    if (!j.is_object()) fail(path, "sidecar must be a JSON object");
    ModelSpec spec;
    try {
        spec.architecture = j.value("architecture", "");
        if (j.contains("classes")) spec.classes = j.at("classes").get<std::vector<std::string>>();
        if (j.contains("input_size")) {
            // As doubles first: a huge or fractional number is refused, never cast.
            const auto size = j.at("input_size").get<std::vector<double>>();
            if (size.size() != 2 || !(size[0] >= 8 && size[0] <= 8192) ||
                !(size[1] >= 8 && size[1] <= 8192) || size[0] != std::floor(size[0]) ||
                size[1] != std::floor(size[1]))
                fail(path, "input_size must be [height, width], whole numbers each 8..8192");
            spec.inputHeight = static_cast<int>(size[0]);
            spec.inputWidth = static_cast<int>(size[1]);
        } else {
            spec.notices.push_back("no input_size in the sidecar: 224 x 224 assumed");
        }
        for (const char* key : {"mean", "std"}) {
            if (!j.contains(key)) {
                spec.notices.push_back(std::string("no ") + key +
                                       " in the sidecar: ImageNet's assumed");
                continue;
            }
            const auto d = j.at(key).get<std::vector<double>>();
            if (d.size() != 3) fail(path, std::string(key) + " must have 3 values (R, G, B)");
            for (double x : d)
                if (!std::isfinite(x) || std::abs(x) > 1e6)
                    fail(path, std::string(key) + " must be finite numbers, not " + number(x));
            if (std::string(key) == "std" && !(d[0] > 0 && d[1] > 0 && d[2] > 0))
                fail(path, "std must be positive, not [" + number(d[0]) + ", " + number(d[1]) +
                               ", " + number(d[2]) + "]");
            const std::vector<float> v(d.begin(), d.end());
            if (std::string(key) == "std" && !(v[0] > 0 && v[1] > 0 && v[2] > 0))
                fail(path, "std is too small for single precision");
            std::copy(v.begin(), v.end(),
                      (std::string(key) == "mean" ? spec.mean : spec.std).begin());
        }
        if (j.contains("microns_per_pixel"))
            spec.micronsPerPixel =
                scaleField(j, "microns_per_pixel", 0.05, 100, "µm per pixel", path);
        if (j.contains("magnification"))
            spec.magnification = scaleField(j, "magnification", 0.1, 1000, "x", path);
        spec.targetLayer = j.value("target_layer", "");
        const std::string output = j.value("output", "softmax");
        if (output == "sigmoid")
            spec.output = OutputKind::SigmoidBinary;
        else if (output == "softmax")
            spec.output = OutputKind::Softmax;
        else
            fail(path, "output must be \"softmax\" or \"sigmoid\", not \"" + output + "\"");
        if (spec.output == OutputKind::SigmoidBinary && !spec.classes.empty() &&
            spec.classes.size() != 2)
            fail(path, "a sigmoid (one-logit) model has exactly 2 classes: [negative, positive]");
    } catch (const nlohmann::json::exception& e) {
        fail(path, std::string("sidecar field has the wrong type: ") + e.what());
    }
    return spec;
}

void writeModelSpec(const ModelSpec& spec, const std::string& path) {
    nlohmann::ordered_json j;
    j["architecture"] = spec.architecture;
    j["classes"] = spec.classes;
    j["input_size"] = {spec.inputHeight, spec.inputWidth};
    // Floats as the decimals they were written as (0.485, not 0.48500001430511475).
    const auto decimals = [](const std::array<float, 3>& v) {
        std::vector<double> out;
        for (float f : v) out.push_back(std::stod(std::to_string(f)));
        return out;
    };
    j["mean"] = decimals(spec.mean);
    j["std"] = decimals(spec.std);
    if (spec.micronsPerPixel) j["microns_per_pixel"] = *spec.micronsPerPixel;
    if (spec.magnification) j["magnification"] = *spec.magnification;
    j["target_layer"] = spec.targetLayer;
    j["output"] = spec.output == OutputKind::SigmoidBinary ? "sigmoid" : "softmax";
    try {
        writeFileAtomically(path, j.dump(2) + "\n");
    } catch (const FileError& e) {
        fail(path, "cannot write the sidecar: " + e.reason());
    }
}

}  // namespace lucida
