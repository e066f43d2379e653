#pragma once
// Finding the DICOM series of a folder or DICOMDIR and putting a series' files in order.
// Internal to core/image.
#include "image/DicomFile.h"
#include "image/DicomSource.h"

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace lucida::dicom {

struct SeriesScan {
    std::string source;               // "DICOMDIR" or "folder"
    std::vector<DicomSeries> series;  // largest first
    std::vector<DicomFile> files;     // the chosen series' files
    std::vector<std::pair<std::string, std::string>> skipped;
};

// The DICOM image files of a folder (through its DICOMDIR when it has one, else its files and
// subfolders) or of a DICOMDIR file, grouped by series; `files` is the series `wanted`, or the
// largest when `wanted` is empty.
SeriesScan scanSeries(const std::string& path, const std::optional<std::string>& wanted);

// Series order: position along the slice normal when every file has one, else InstanceNumber,
// else file name. Returns what was used, for the properties.
std::string sortFiles(std::vector<DicomFile>& files);

// "name (reason); ..." for the properties.
std::string joinSkipped(const std::vector<std::pair<std::string, std::string>>& skipped);

// A DICOMDIR file: by name, or by its Media Storage SOP Class in the meta header.
bool isDicomdirFile(const std::filesystem::path& p);

// Whether a folder (or one of its subfolders) holds a DICOMDIR or a DICOM file: cheap, stops at
// the first hit and looks at a bounded number of entries.
bool folderHasDicom(const std::filesystem::path& folder);

// One line about a series for the properties, its folder named relative to `root`.
std::string describe(const DicomSeries& s, const std::filesystem::path& root);

}  // namespace lucida::dicom
