// Batch sizes that fit the device's free memory, and batched explanation with an out-of-memory
// fallback. The memory of a batch is measured, not guessed: LibTorch's allocators report every
// allocation and free to a thread-local "memory reporting" hook (the one the autograd profiler
// uses), which is installed around one probe run.
#include "cam/Batching.h"

#include "cam/CamMethod.h"
#include "model/Model.h"

#include <c10/core/Allocator.h>
#include <c10/util/ThreadLocalDebugInfo.h>
#include <torch/torch.h>

#ifdef LUCIDA_TORCH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAGuard.h>
#include <cuda_runtime_api.h>
#endif

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>

namespace lucida {

namespace {

// Running total and peak of the bytes allocated on one device type while installed.
class PeakMemory final : public c10::MemoryReportingInfoBase {
public:
    explicit PeakMemory(c10::DeviceType type) : type_(type) {}
    void reportMemoryUsage(void* /*ptr*/, std::int64_t size, std::int64_t /*totalAllocated*/,
                           std::int64_t /*totalReserved*/, c10::Device device) override {
        if (device.type() != type_) return;
        std::lock_guard lock(mutex_);
        current_ += size;
        peak_ = std::max(peak_, current_);
    }
    bool memoryProfilingEnabled() const override { return true; }
    std::int64_t peak() const {
        std::lock_guard lock(mutex_);
        return peak_;
    }

private:
    c10::DeviceType type_;
    mutable std::mutex mutex_;
    std::int64_t current_ = 0;
    std::int64_t peak_ = 0;
};

// The batch sizes whose peak memory gives the cost of one more image.
constexpr std::int64_t kProbeSmall = 2;
constexpr std::int64_t kProbeLarge = 6;

// Peak bytes allocated on `type` while `run` runs, above what was allocated before.
std::int64_t peakBytesOf(c10::DeviceType type, const std::function<void()>& run) {
    auto reporter = std::make_shared<PeakMemory>(type);
    {
        c10::DebugInfoGuard guard(c10::DebugInfoKind::PROFILER_STATE, reporter);
        run();
    }
    return reporter->peak();
}

// "Key:   123 kB" from /proc/meminfo, in bytes.
std::optional<std::int64_t> memInfoBytes(const std::string& key) {
    std::ifstream in("/proc/meminfo");
    for (std::string line; std::getline(in, line);) {
        if (line.rfind(key + ":", 0) != 0) continue;
        std::istringstream fields(line.substr(key.size() + 1));
        std::int64_t value = 0;
        std::string unit;
        if (fields >> value) {
            fields >> unit;
            return unit == "kB" ? value * 1024 : value;
        }
    }
    return std::nullopt;
}

std::optional<std::int64_t> readNumber(const std::string& path) {
    std::ifstream in(path);
    std::string text;
    if (!(in >> text) || text.empty() || !std::isdigit(static_cast<unsigned char>(text[0])))
        return std::nullopt;  // missing, or "max" (no limit)
    try {
        return static_cast<std::int64_t>(std::stoull(text));
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

// What the process's cgroup still allows (v2, then v1), when it has a limit.
std::optional<std::int64_t> cgroupFreeBytes() {
    if (auto limit = readNumber("/sys/fs/cgroup/memory.max")) {
        const auto used = readNumber("/sys/fs/cgroup/memory.current").value_or(0);
        return std::max<std::int64_t>(0, *limit - used);
    }
    if (auto limit = readNumber("/sys/fs/cgroup/memory/memory.limit_in_bytes");
        limit && *limit < (std::int64_t{1} << 60)) {
        const auto used = readNumber("/sys/fs/cgroup/memory/memory.usage_in_bytes").value_or(0);
        return std::max<std::int64_t>(0, *limit - used);
    }
    return std::nullopt;
}

// After an out-of-memory error on CUDA, the caching allocator's unused blocks go back to the
// driver so the smaller retry can have them.
void releaseCachedMemory([[maybe_unused]] const std::string& device) {
#ifdef LUCIDA_TORCH_CUDA
    if (torch::Device(device).is_cuda()) c10::cuda::CUDACachingAllocator::emptyCache();
#endif
}

}  // namespace

std::optional<std::int64_t> freeMemoryBytes(const std::string& device, std::string* source) {
    const torch::Device dev(device);
    if (dev.is_cuda()) {
#ifdef LUCIDA_TORCH_CUDA
        const int index = dev.has_index() ? dev.index() : 0;
        c10::cuda::CUDAGuard guard(static_cast<c10::DeviceIndex>(index));
        std::size_t free = 0, total = 0;
        if (cudaMemGetInfo(&free, &total) != cudaSuccess) {
            cudaGetLastError();  // clear the sticky error state
            if (source) *source = "unknown";
            return std::nullopt;
        }
        // Blocks LibTorch's caching allocator holds but does not use are free to this process.
        const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(index);
        const auto all =
            static_cast<std::size_t>(c10::cuda::CUDACachingAllocator::StatType::AGGREGATE);
        const std::int64_t cached =
            stats.reserved_bytes[all].current - stats.allocated_bytes[all].current;
        if (source) *source = "CUDA";
        return static_cast<std::int64_t>(free) + std::max<std::int64_t>(0, cached);
#else
        if (source) *source = "unknown";
        return std::nullopt;
#endif
    }
    std::optional<std::int64_t> available = memInfoBytes("MemAvailable");
    if (source) *source = available ? "MemAvailable" : "unknown";
    if (auto cgroup = cgroupFreeBytes(); cgroup && (!available || *cgroup < *available)) {
        available = cgroup;
        if (source) *source = "cgroup";
    }
    return available;
}

std::int64_t peakBytesDuring(const std::string& device, const std::function<void()>& run) {
    return peakBytesOf(torch::Device(device).type(), run);
}

bool isOutOfMemory(const std::string& message) {
    std::string m = message;
    std::transform(m.begin(), m.end(), m.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    // CUDA: "CUDA out of memory. Tried to allocate …"; CPU: "DefaultCPUAllocator: can't allocate
    // memory: you tried to allocate …" or "… not enough memory: you tried to allocate …".
    return m.find("out of memory") != std::string::npos ||
           m.find("can't allocate memory") != std::string::npos ||
           m.find("cannot allocate memory") != std::string::npos ||
           m.find("not enough memory") != std::string::npos;
}

BatchPlan chooseBatchSize(const Model& model, const ExplainOptions& options,
                          const BatchSizeOptions& batchOptions) {
    BatchPlan plan;
    const int maxBatch = std::max(1, batchOptions.maxBatch);
    std::optional<std::int64_t> free = batchOptions.freeBytes;
    plan.freeSource = "given";
    if (!free) free = freeMemoryBytes(model.device(), &plan.freeSource);
    if (!free) {
        plan.batchSize = std::min(16, maxBatch);
        return plan;
    }
    plan.freeBytes = *free;

    const ModelSpec& spec = model.spec();
    const c10::DeviceType type = torch::Device(model.device()).type();
    ExplainOptions probe = options;
    const bool scoreCam = makeCamMethod(options.method)->name() == "scorecam";
    if (scoreCam) probe.method = "gradcam";
    auto explainZeros = [&](std::int64_t n) {
        const FloatTensor zeros({n, 3, spec.inputHeight, spec.inputWidth});
        explain(model, zeros, probe);
    };
    // One unmeasured run first: what LibTorch allocates once and keeps (graph optimisation,
    // weight layouts) is not a cost of the batch. Then the slope between 2 and 6 images: with one
    // image the peak is often where a fixed cost (a reordered weight) dominates, not where the
    // activations of each image do.
    explainZeros(1);
    const std::int64_t two = peakBytesOf(type, [&] { explainZeros(kProbeSmall); });
    const std::int64_t six = peakBytesOf(type, [&] { explainZeros(kProbeLarge); });
    plan.perImageBytes = std::max<std::int64_t>(
        1, (six - two + kProbeLarge - kProbeSmall - 1) / (kProbeLarge - kProbeSmall));
    plan.fixedBytes = std::max<std::int64_t>(0, six - kProbeLarge * plan.perImageBytes);
    if (scoreCam) {
        // One chunk of masked inputs through the whole model, in float32 (no less than in the
        // lower precisions).
        plan.fixedBytes += peakBytesOf(type, [&] {
            torch::NoGradGuard noGrad;
            model.backend().forward(
                torch::zeros({kScoreCamChunk, 3, spec.inputHeight, spec.inputWidth},
                             torch::TensorOptions().device(torch::Device(model.device()))));
        });
    }
    plan.batchSize = batchSizeFor(*free, plan.perImageBytes, plan.fixedBytes, batchOptions);
    return plan;
}

int batchSizeFor(std::int64_t freeBytes, std::int64_t perImageBytes, std::int64_t fixedBytes,
                 const BatchSizeOptions& batchOptions) {
    const double usable = batchOptions.usableFraction * static_cast<double>(freeBytes);
    const double fits = std::floor((usable - static_cast<double>(fixedBytes)) /
                                   static_cast<double>(std::max<std::int64_t>(1, perImageBytes)));
    return static_cast<int>(
        std::clamp(fits, 1.0, static_cast<double>(std::max(1, batchOptions.maxBatch))));
}

std::vector<Explanation> runInBatches(
    std::int64_t total, int& batchSize,
    const std::function<std::vector<Explanation>(std::int64_t first, std::int64_t count)>& run) {
    std::vector<Explanation> out;
    batchSize = std::max(1, batchSize);
    for (std::int64_t first = 0; first < total;) {
        const std::int64_t count = std::min<std::int64_t>(batchSize, total - first);
        std::vector<Explanation> part;
        try {
            part = run(first, count);
        } catch (const std::exception& e) {
            if (count <= 1 || !isOutOfMemory(e.what())) throw;
            batchSize = static_cast<int>(count / 2);
            continue;
        }
        for (auto& e : part) out.push_back(std::move(e));
        first += count;
    }
    return out;
}

std::vector<Explanation> explainInBatches(const Model& model, const FloatTensor& images,
                                          const ExplainOptions& options, int& batchSize) {
    if (images.dims() != 4) throw std::invalid_argument("input batch must be [N, 3, H, W]");
    if (batchSize <= 0) batchSize = chooseBatchSize(model, options).batchSize;
    const std::int64_t n = images.size(0);
    const std::int64_t perImage = FloatTensor::numel(images.shape) / std::max<std::int64_t>(1, n);
    return runInBatches(n, batchSize, [&](std::int64_t first, std::int64_t count) {
        try {
            if (first == 0 && count == n) return explain(model, images, options);
            std::vector<std::int64_t> shape = images.shape;
            shape[0] = count;
            FloatTensor slice(shape);
            std::copy_n(images.data.begin() + first * perImage, count * perImage,
                        slice.data.begin());
            return explain(model, slice, options);
        } catch (const std::exception& e) {
            if (isOutOfMemory(e.what())) releaseCachedMemory(model.device());
            throw;
        }
    });
}

}  // namespace lucida
