#pragma once

// One project image's own analysis settings (a project file's "settings" object per image): what
// differs for this image from the settings the queue or `lucida-cli batch` runs with — a pixel
// size for a file that lacks one, another mode, precision, overlap, fit, method, class, layer or
// tissue threshold — and whether it is left out of batches. Effective settings = the command's or
// window's, overridden by the image's. No Qt, no LibTorch.

#include "analysis/SlideAnalysis.h"

#include <nlohmann/json_fwd.hpp>

#include <optional>
#include <string>
#include <vector>

namespace lucida {

struct ImageSettings {
    std::optional<double> pixelSize;  // µm per level-0 pixel, instead of the file's (or none)
    std::optional<AnalysisMode> mode;
    std::optional<bool> int8;       // "precision": "int8" (true) | "fp32" (AnalysisSettings::int8)
    std::optional<double> overlap;  // 0 .. 0.75
    std::optional<ImageFit> fit;
    std::optional<std::string> method;       // a CAM method name (camMethodNames)
    std::optional<std::string> classChoice;  // a class name of the model or its index
    std::optional<std::string> layer;
    std::optional<double> minTissue;  // 0 .. 1
    bool excluded = false;            // skipped by the queue and batch

    // No override and not excluded (the project file then writes no "settings").
    bool empty() const;
    bool operator==(const ImageSettings&) const = default;
};

// The CAM methods a "method" may name (torch-free, for dialogs).
std::vector<std::string> imageSettingsMethods();

// The keys of a "settings" object, as written in project files.
std::vector<std::string> imageSettingsKeys();

// Reads a "settings" object. Unknown keys and values out of range are refused: throws CohortError
// with `at` (the project file and image) and the key. Text values at most 256 bytes.
ImageSettings imageSettingsFromJson(const nlohmann::json& j, const std::string& at);
nlohmann::json imageSettingsToJson(const ImageSettings& s);

// `base` with the image's overrides. The class is resolved against the model's `classes` (a
// name, or an index from 0). Throws std::invalid_argument for a class the model does not have.
AnalysisSettings effectiveSettings(AnalysisSettings base, const ImageSettings& own,
                                   const std::vector<std::string>& classes);

// The overrides in one line for people ("excluded, dense, int8, overlap 0.5"); "" for none.
std::string describe(const ImageSettings& s);

// The names used in project files and on the command line.
std::string modeName(AnalysisMode mode);       // "patch" | "dense"
std::string fitName(ImageFit fit);             // "auto" | "whole" | "patches"
std::string analysisPrecisionName(bool int8);  // "int8" | "fp32" (AnalysisSettings::int8)

}  // namespace lucida
