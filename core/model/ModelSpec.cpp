#include "model/ModelSpec.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace lucida {

namespace {
[[noreturn]] void fail(const std::string& path, const std::string& what) {
    throw std::runtime_error(path + ": " + what);
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
            const auto size = j.at("input_size").get<std::vector<int>>();
            if (size.size() != 2 || size[0] < 8 || size[1] < 8 || size[0] > 8192 || size[1] > 8192)
                fail(path, "input_size must be [height, width], each 8..8192");
            spec.inputHeight = size[0];
            spec.inputWidth = size[1];
        } else {
            spec.notices.push_back("no input_size in the sidecar: 224 x 224 assumed");
        }
        for (const char* key : {"mean", "std"}) {
            if (!j.contains(key)) {
                spec.notices.push_back(std::string("no ") + key +
                                       " in the sidecar: ImageNet's assumed");
                continue;
            }
            const auto v = j.at(key).get<std::vector<float>>();
            if (v.size() != 3) fail(path, std::string(key) + " must have 3 values (R, G, B)");
            if (std::string(key) == "std" && (v[0] <= 0 || v[1] <= 0 || v[2] <= 0))
                fail(path, "std must be positive");
            std::copy(v.begin(), v.end(),
                      (std::string(key) == "mean" ? spec.mean : spec.std).begin());
        }
        if (j.contains("microns_per_pixel"))
            spec.micronsPerPixel = j.at("microns_per_pixel").get<double>();
        if (j.contains("magnification")) spec.magnification = j.at("magnification").get<double>();
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
    const std::string temporary = path + ".tmp";
    {
        std::ofstream out(temporary, std::ios::trunc);
        out << j.dump(2) << "\n";
        if (!out) fail(path, "cannot write the sidecar");
    }
    std::filesystem::rename(temporary, path);
}

}  // namespace lucida
