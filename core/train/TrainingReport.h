#pragma once

#include "train/Trainer.h"

#include <string>
#include <vector>

namespace lucida {

// The epoch history as JSON text (report.json's "history" and the checkpoint's copy), and back.
std::string historyToJson(const std::vector<EpochRecord>& history);
std::vector<EpochRecord> historyFromJson(const std::string& json);

// report.json: options, classes, image counts, device, outcome, best epoch and the full history
// with validation metrics. Written atomically. Throws std::runtime_error naming the file.
void writeTrainingReport(const std::string& path, const TrainOptions& options,
                         const TrainResult& result, const std::vector<int>& trainCounts,
                         const std::vector<int>& validationCounts);

// curves.png: loss and accuracy per epoch (train and validation), the best epoch marked.
void writeTrainingCurves(const std::string& path, const std::vector<EpochRecord>& history);

}  // namespace lucida
