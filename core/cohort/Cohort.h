#pragma once

// A cohort: the images of a study, each with an optional label and group, read from a manifest
// (CSV), a project file (JSON) or a folder. No Qt, no LibTorch. Manifests and projects are
// untrusted files: bounded size, line length and image count; errors name the file and line.

#include "cohort/ImageSettings.h"
#include "image/FileError.h"

#include <cstddef>
#include <string>
#include <vector>

namespace lucida {

struct CohortImage {
    std::string path;   // absolute, or as written when relative to nothing (a folder's entries)
    std::string label;  // "" when unknown; "0"/"1" or a class name of the model
    std::string group;  // free text (site, scanner, split); "" when none
    ImageSettings settings;  // the image's own settings (a project's; manifests and folders: none)
};

// A manifest or project that cannot be used: names the file (and line) and the reason.
class CohortError : public FileError {
public:
    using FileError::FileError;
};

struct CohortLimits {
    std::size_t maxFileBytes = 16u << 20;  // a manifest larger than this is refused
    std::size_t maxLineBytes = 8192;       // one CSV line
    std::size_t maxImages = 100000;
};

// CSV manifest: one image per line, columns path[,label[,group]] (RFC 4180 quoting; a first line
// "path,label,group" or starting with "path" is a header; blank lines and lines starting with '#'
// are skipped). Relative paths are relative to the manifest's folder.
std::vector<CohortImage> readManifestCsv(const std::string& path, const CohortLimits& limits = {});

// Project file (JSON): {"lucida_project": 1, "images": [{"path": ..., "label": ..., "group":
// ..., "settings": {...}}, ...], "results": folder (optional)}; relative paths relative to the
// project's folder. "settings" (optional) is the image's own (ImageSettings.h); unknown keys and
// bad values are refused, naming the project file, the image (number and path) and the key.
// "results" is where every image's per-patch results are kept (the viewer's project queue and
// `lucida-cli batch` of the project share it); none: each image's own results store.
struct CohortProject {
    std::vector<CohortImage> images;
    std::string resultsDir;  // absolute; "" when the project names none
};
CohortProject readProject(const std::string& path, const CohortLimits& limits = {});
std::vector<CohortImage> readProjectFile(const std::string& path, const CohortLimits& limits = {});
// Writes a project file atomically (paths as given; "results" only when not empty).
void writeProjectFile(const std::string& path, const std::vector<CohortImage>& images,
                      const std::string& resultsDir = "");

// The images of a folder (its files, not subfolders, by name; hidden files and Lucida's own
// outputs left out), without labels.
std::vector<CohortImage> readCohortFolder(const std::string& path, const CohortLimits& limits = {});

// `imagePath` as written in the list at `listPath`: relative ones are relative to its folder.
std::string resolveBeside(const std::string& listPath, const std::string& imagePath);

// Any of the three, by what `path` is: a folder, a ".json" project, else a CSV manifest.
std::vector<CohortImage> readCohort(const std::string& path, const CohortLimits& limits = {});

// A label as the positive (true) or negative (false) class of a binary question, or unknown:
// "1"/"0", "true"/"false", "positive"/"negative", or `positiveClass` / another of `classes`.
// Throws std::invalid_argument for a label that is none of these.
enum class LabelValue { Unknown, Negative, Positive };
LabelValue labelValue(const std::string& label, const std::string& positiveClass,
                      const std::vector<std::string>& classes);

}  // namespace lucida
