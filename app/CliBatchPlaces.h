#pragma once

// Where a batch keeps its state under --out, shared by `batch`, its Slurm job and `collect`:
//   <out>/<image>.analysis.json ...   each image's outputs, as `analyse` writes them
//   <out>/cohort/batch.json           the cohort, model classes and settings of the batch
//   <out>/cohort/tasks/<n>.json       the row of image n (1-based, manifest order)
//   <out>/cohort/logs/task-<n>.log    a Slurm task's log
//   <out>/cohort.csv, cohort.json     the cohort table

#include "CliAnalyse.h"

#include "cohort/CohortTable.h"

#include <filesystem>
#include <string>

namespace lucida::cli {

struct BatchPlaces {
    std::filesystem::path out;
    std::filesystem::path state() const { return out / "cohort"; }
    std::filesystem::path batchFile() const { return state() / "batch.json"; }
    std::filesystem::path row(std::size_t n) const {
        return state() / "tasks" / (std::to_string(n) + ".json");
    }
    std::filesystem::path log(std::size_t n) const {
        return state() / "logs" / ("task-" + std::to_string(n) + ".log");
    }
    std::string tableStem() const { return (out / "cohort").string(); }
};

// The model file (path, size, modification time) and the analysis options in one line: a row
// written with other settings is stale (its image is analysed again).
std::string settingsSignature(const AnalyseArgs& args);

// What `image` is analysed with: the batch's options overridden by the image's own settings (a
// project's; ImageSettings.h). Its signature is the one its row must have.
AnalyseArgs imageArgs(const AnalyseArgs& batch, const CohortImage& image);
std::string imageSignature(const AnalyseArgs& batch, const CohortImage& image);

// Image n's row when it exists, is readable and was made with `signature`.
std::optional<CohortRow> currentRow(const BatchPlaces& places, std::size_t n,
                                    const std::string& signature);

// Whether image n is done with these settings (its row says so and its outputs exist).
bool imageDone(const BatchPlaces& places, std::size_t n, const std::string& signature);

}  // namespace lucida::cli
