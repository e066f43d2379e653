#pragma once

#include "cam/Explainer.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace lucida {

// How many images one explain() call takes, chosen so that the batch fits the memory that is free
// on the model's device.
struct BatchPlan {
    int batchSize = 1;
    std::int64_t freeBytes = 0;      // free memory on the device when asked (or as given)
    std::int64_t perImageBytes = 0;  // peak memory each further image adds (measured)
    std::int64_t fixedBytes = 0;     // peak memory that does not grow with the batch (measured)
    std::string freeSource;          // "MemAvailable", "cgroup", "CUDA", "given" or "unknown"
};

struct BatchSizeOptions {
    // Memory free for the run in bytes; nullopt: asked from the system (CPU: MemAvailable of
    // /proc/meminfo, or the cgroup's limit if lower) or the device (CUDA: free device memory plus
    // what LibTorch's caching allocator holds unused).
    std::optional<std::int64_t> freeBytes;
    // The part of the free memory a batch may use; the rest is left to other programs, the
    // allocator's fragmentation and the images and maps the caller keeps.
    double usableFraction = 0.5;
    int maxBatch = 64;
};

// The largest batch that fits:
//   batch = clamp(floor((usableFraction * free - fixed) / perImage), 1, maxBatch)
// where perImage and fixed come from the peak memory the model's allocator reports during
// explain() of two and of six zero images (after one unmeasured run): perImage = (peak(6) -
// peak(2)) / 4, fixed = peak(6) - 6 perImage; on the model's device, in options.precision.
// Score-CAM, which runs its masked forwards image by image in chunks, is probed with Grad-CAM (a
// forward and a backward per image, more than Score-CAM's batch part) plus one forward of a chunk.
// Unknown free memory gives min(16, maxBatch): the out-of-memory fallback of explainInBatches()
// then shrinks it.
BatchPlan chooseBatchSize(const Model& model, const ExplainOptions& options,
                          const BatchSizeOptions& batchOptions = {});

// The rule above for a measured cost: clamp(floor((usableFraction * freeBytes - fixedBytes) /
// perImageBytes), 1, maxBatch).
int batchSizeFor(std::int64_t freeBytes, std::int64_t perImageBytes, std::int64_t fixedBytes,
                 const BatchSizeOptions& batchOptions = {});

// Free memory on `device` ("cpu", "cuda:0"), or nullopt when it cannot be asked. `source` says
// where it came from.
std::optional<std::int64_t> freeMemoryBytes(const std::string& device,
                                            std::string* source = nullptr);

// Peak bytes allocated on `device`'s type while `run` runs, above what was allocated before
// (LibTorch's memory-reporting hook; what chooseBatchSize measures). Dense mode's tile sides.
std::int64_t peakBytesDuring(const std::string& device, const std::function<void()>& run);

// Whether an error message is LibTorch's (or the TorchScript interpreter's) report of an
// allocation failure: "CUDA out of memory", "DefaultCPUAllocator: can't allocate memory", …
bool isOutOfMemory(const std::string& message);

// Runs `run(first, count)` on consecutive slices of `total` items, at most `batchSize` at a time.
// A slice that fails for lack of memory (isOutOfMemory) is halved and retried, and batchSize
// keeps the smaller size for the slices after it; when a single item does not fit, the error is
// rethrown. Other errors pass through at once. Results are concatenated in order.
std::vector<Explanation> runInBatches(
    std::int64_t total, int& batchSize,
    const std::function<std::vector<Explanation>(std::int64_t first, std::int64_t count)>& run);

// explain() on any number of images [N, 3, H, W], `batchSize` at a time (see runInBatches; 0 or
// less: chooseBatchSize first). batchSize is left at the size that worked.
std::vector<Explanation> explainInBatches(const Model& model, const FloatTensor& images,
                                          const ExplainOptions& options, int& batchSize);

}  // namespace lucida
