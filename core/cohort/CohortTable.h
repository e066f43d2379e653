#pragma once

// The cohort table: one row per image of a batch (score, top region, patches, time, status),
// written as CSV and JSON, with the ROC/AUC of the score against the labels when there are any.
// Rows are also what one batch task leaves behind (one JSON file per image) for `collect`.

#include "cohort/Cohort.h"
#include "train/Metrics.h"

#include <optional>
#include <string>
#include <vector>

namespace lucida {

struct CohortRow {
    std::string image, label, group;
    // done | failed | cancelled (stopped mid-image; runs on next time) | pending (never ran) |
    // excluded (the project leaves it out: its settings say "excluded")
    std::string status = "pending";
    std::string error;  // why it failed ("" otherwise)
    double score = 0;   // the explained class's top-k mean patch probability
    std::string scoreClass;
    bool hasRegion = false;
    double regionX = 0, regionY = 0, regionWidth = 0, regionHeight = 0, regionProbability = 0;
    std::size_t patches = 0;   // planned tissue patches
    std::size_t inferred = 0;  // run through the model by the run that wrote this row
    double seconds = 0;
    std::string outputs;   // the image's .analysis.json
    std::string settings;  // what it was analysed with (model file and options), to tell stale rows
};

// Reads one row file (a task's result). Throws CohortError naming the file.
CohortRow readCohortRow(const std::string& path);
void writeCohortRow(const std::string& path, const CohortRow& row);

struct CohortAuc {
    std::size_t positives = 0, negatives = 0;
    double auc = 0;  // NaN when a class is missing
    std::vector<RocPoint> roc;
};
// ROC of the done rows' scores against their labels (labelValue; rows without a label left
// out); nullopt when no done row has a label.
std::optional<CohortAuc> cohortAuc(const std::vector<CohortRow>& rows,
                                   const std::string& positiveClass,
                                   const std::vector<std::string>& classes);

// Writes "<stem>.csv" and "<stem>.json" atomically. The JSON holds the rows, the counts by status
// and the ROC/AUC when given.
void writeCohortTable(const std::string& stem, const std::vector<CohortRow>& rows,
                      const std::optional<CohortAuc>& auc);

}  // namespace lucida
