#pragma once

#include "CliAnalyse.h"

#include <string>

namespace CLI {
class App;
}

namespace lucida::cli {

struct BatchArgs {
    AnalyseArgs analysis;  // the model and options; outDir/resultsDir; `slide` set per image
    std::string cohort;    // CSV manifest, project (.json) or folder
    std::size_t task = 0;  // 1-based: only this image (a Slurm array task); 0: every image
    bool slurm = false;
    std::string partition;
    int gpusPerTask = 0, cpusPerTask = 0, maxParallel = 0;
    std::string timeLimit;  // Slurm --time, e.g. "04:00:00"
    bool noSubmit = false;  // write the job script only
    bool wait = false;      // sbatch --wait, then collect
};

struct BatchCommands {
    CLI::App* batch = nullptr;
    CLI::App* collect = nullptr;
};
BatchCommands addBatchCommand(CLI::App& app, BatchArgs& args);

// `lucida-cli batch`: analyses every image of a cohort (as `analyse` does, one after another),
// keeps one row file per image under <out>/cohort/tasks/ and writes the cohort table
// <out>/cohort.csv/.json. Done images are not analysed again; a stopped one resumes from its
// stored patches. With --slurm: writes and submits a job array instead (CliSlurm.cpp).
// Returns 0 when every image is done, 1 when any failed or was stopped.
int runBatch(const BatchArgs& args);

// `lucida-cli batch collect`: the cohort table from the row files of the tasks that ran, naming
// each task that failed or left no result and why (its log's last lines). 0 when all are done.
int runBatchCollect(const BatchArgs& args);

}  // namespace lucida::cli
