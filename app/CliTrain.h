#pragma once

#include "train/TrainOptions.h"

namespace CLI {
class App;
}

namespace lucida::cli {

// Adds `lucida-cli train` with the training wizard's options, filling `options`.
CLI::App* addTrainCommand(CLI::App& app, TrainOptions& options);

// Trains with progress on stderr (epoch, batch, loss, images/s, ETA; one line per epoch with the
// validation metrics). Ctrl+C cancels cleanly: the checkpoint is written and the best model kept.
// Returns the exit code: 0 finished or stopped early, 1 cancelled.
int runTrain(const TrainOptions& options);

}  // namespace lucida::cli
