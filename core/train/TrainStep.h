#pragma once

#include "model/FloatTensor.h"
#include "train/TrainOptions.h"

#include <string>
#include <vector>

namespace lucida {

// One optimisation step exactly as Trainer takes it (train mode, the options' loss, optimizer,
// learning rate and weight decay), on a native model saved as a state_dict; writes the updated
// state_dict to `outPath` and returns the loss before the step. For checking against PyTorch.
double trainOneStep(const std::string& modelPath, const FloatTensor& batch,
                    const std::vector<int>& labels, const TrainOptions& options,
                    const std::string& outPath);

}  // namespace lucida
