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

// The curves' colours (0xRRGGBB), in curves.png and in the wizard's live charts alike.
constexpr unsigned kTrainCurveRgb = 0x1f77b4;       // blue
constexpr unsigned kValidationCurveRgb = 0xff7f0e;  // orange
constexpr unsigned kBestEpochRgb = 0x2ca02c;        // green

// Epoch ticks for `epochs` epochs: every `step`-th from 1, at most about ten (charts and PNG).
inline int epochTickStep(int epochs) { return epochs <= 11 ? 1 : (epochs - 1 + 9) / 10; }

// curves.png: loss and accuracy per epoch (train and validation), epoch ticks, the best epoch
// (the saved model) marked with a labelled line.
void writeTrainingCurves(const std::string& path, const std::vector<EpochRecord>& history);

}  // namespace lucida
