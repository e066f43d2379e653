#pragma once

#include "CliBatch.h"
#include "CliBatchPlaces.h"

#include <string>
#include <vector>

namespace lucida::cli {

// Slurm's --array value for these 1-based indices: ranges ("1-3,7,9-10"), "%K" appended when
// maxParallel > 0.
std::string slurmArraySpec(const std::vector<std::size_t>& indices, int maxParallel);

// `batch --slurm`: writes <out>/cohort/batch.sbatch, a job array of the images not done yet (one
// per task, each running `lucida-cli batch ... --task N` with its log in <out>/cohort/logs/), and
// submits it with sbatch (unless --no-submit; with --wait it waits for the job). Nothing left to
// do: says so and submits nothing. Returns 0 when submitted (or written), 1 when sbatch failed.
int submitSlurmBatch(const BatchArgs& args, const std::vector<CohortImage>& images,
                     const BatchPlaces& places);

}  // namespace lucida::cli
