#include "train/BatchLoader.h"
#include "util/Random.h"

#include "image/ImageError.h"
#include "image/ImageSource.h"
#include "model/Preprocess.h"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <numeric>
#include <random>
#include <stdexcept>
#include <thread>

namespace lucida {

namespace {

// splitmix64's finaliser: turns nearby seeds (seed + epoch, image indices) into unrelated ones.
std::uint64_t mix(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

std::uint64_t epochSeed(std::uint64_t seed, int epoch) {
    return mix(seed + static_cast<std::uint64_t>(static_cast<std::int64_t>(epoch)));
}

// One batch of an epoch while its images are being decoded.
struct BatchSlot {
    FloatTensor images;  // allocated when its first image is taken, so only prefetched ones cost
    std::vector<std::optional<SkippedFile>> failures;
    std::size_t count = 0;
    std::size_t remaining = 0;  // images not yet done; 0: ready for the consumer
};

struct EpochState {
    int number = 0;
    std::vector<std::size_t> order;  // image indices in the order batches serve them
    std::vector<BatchSlot> batches;  // never resized once built: workers keep pointers into it
    std::size_t nextItem = 0;        // next position of `order` to hand to a worker
    std::size_t consumed = 0;        // batches returned by next()
    bool abandoned = false;          // a newer epoch started or the loader is closing
};

}  // namespace

struct BatchLoader::Impl {
    std::vector<LabelledImage> images;
    ModelSpec spec;
    BatchLoaderOptions options;
    std::size_t batchSize = 1;
    std::array<std::array<float, 256>, 3> normalised{};  // byte -> (v / 255 - mean) / std

    std::mutex mutex;
    std::condition_variable workAvailable;
    std::condition_variable batchReady;
    // Shared with the workers: one still decoding an abandoned epoch's image writes into that
    // epoch's buffers, which stay alive until it lets go.
    std::shared_ptr<EpochState> epoch;
    bool stopping = false;
    std::atomic<long long> waitMicroseconds{0};
    std::vector<std::thread> threads;

    bool hasWork() const {
        return epoch && !epoch->abandoned && epoch->nextItem < epoch->order.size() &&
               epoch->nextItem / batchSize <
                   epoch->consumed + static_cast<std::size_t>(options.prefetchBatches);
    }

    void workerLoop() {
        std::unique_lock lock(mutex);
        for (;;) {
            workAvailable.wait(lock, [&] { return stopping || hasWork(); });
            if (stopping) return;
            const std::shared_ptr<EpochState> ep = epoch;
            const std::size_t position = ep->nextItem++;
            BatchSlot& slot = ep->batches[position / batchSize];
            if (slot.images.data.empty())
                slot.images = FloatTensor(
                    {static_cast<std::int64_t>(slot.count), 3, spec.inputHeight, spec.inputWidth});
            const std::size_t perImage = 3 * static_cast<std::size_t>(spec.inputWidth) *
                                         static_cast<std::size_t>(spec.inputHeight);
            float* destination = slot.images.data.data() + (position % batchSize) * perImage;
            const std::size_t index = ep->order[position];
            lock.unlock();
            std::optional<SkippedFile> failure = decode(index, ep->number, destination);
            lock.lock();
            slot.failures[position % batchSize] = std::move(failure);
            if (--slot.remaining == 0) batchReady.notify_all();
        }
    }

    // Decodes, augments and normalises image `index` into `destination` ([3, H, W]).
    std::optional<SkippedFile> decode(std::size_t index, int epochNumber, float* destination) {
        const LabelledImage& image = images[index];
        const int w = spec.inputWidth, h = spec.inputHeight;
        try {
            const cv::Mat rgb = loadTrainingImage(image.path, w, h);
            cv::Mat out;
            if (options.augment && options.augmentation.any()) {
                // Seeded per image, not per thread: the result does not depend on scheduling.
                std::mt19937_64 rng(mix(epochSeed(options.seed, epochNumber) + index));
                out = augmentImage(rgb, options.augmentation, w, h, rng);
            } else {
                out = resizeForTraining(rgb, w, h);
            }
            const std::size_t plane = static_cast<std::size_t>(w) * static_cast<std::size_t>(h);
            for (int y = 0; y < h; ++y) {
                const std::uint8_t* px = out.ptr<std::uint8_t>(y);
                float* row =
                    destination + static_cast<std::size_t>(y) * static_cast<std::size_t>(w);
                for (int x = 0; x < w; ++x, px += 3)
                    for (std::size_t c = 0; c < 3; ++c) row[c * plane + x] = normalised[c][px[c]];
            }
            return std::nullopt;
        } catch (const FileError& e) {
            return SkippedFile{image.path, e.reason()};
        } catch (const std::exception& e) {
            return SkippedFile{image.path, e.what()};
        } catch (...) {  // nothing may escape a worker thread
            return SkippedFile{image.path, "unknown error while decoding"};
        }
    }
};

BatchLoader::BatchLoader(std::vector<LabelledImage> images, ModelSpec spec,
                         BatchLoaderOptions options)
    : impl_(std::make_unique<Impl>()) {
    if (options.batchSize <= 0) throw std::invalid_argument("batch size must be positive");
    if (spec.inputWidth <= 0 || spec.inputHeight <= 0)
        throw std::invalid_argument("model input size must be positive");
    options.prefetchBatches = std::max(1, options.prefetchBatches);
    impl_->images = std::move(images);
    impl_->spec = std::move(spec);
    impl_->options = options;
    impl_->batchSize = static_cast<std::size_t>(options.batchSize);
    for (std::size_t c = 0; c < 3; ++c)
        for (int v = 0; v < 256; ++v)
            impl_->normalised[c][static_cast<std::size_t>(v)] =
                (static_cast<float>(v) / 255.0f - impl_->spec.mean[c]) / impl_->spec.std[c];
    const int threads = options.threads > 0
                            ? options.threads
                            : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    for (int t = 0; t < threads; ++t) impl_->threads.emplace_back([this] { impl_->workerLoop(); });
}

BatchLoader::~BatchLoader() {
    {
        std::lock_guard lock(impl_->mutex);
        impl_->stopping = true;
        if (impl_->epoch) impl_->epoch->abandoned = true;
    }
    impl_->workAvailable.notify_all();
    impl_->batchReady.notify_all();
    // Workers finish the image in hand (at most one each), then leave.
    for (std::thread& t : impl_->threads) t.join();
}

void BatchLoader::startEpoch(int epoch) {
    auto ep = std::make_shared<EpochState>();
    ep->number = epoch;
    ep->order.resize(impl_->images.size());
    std::iota(ep->order.begin(), ep->order.end(), std::size_t{0});
    if (impl_->options.shuffle) {
        std::mt19937_64 rng(epochSeed(impl_->options.seed, epoch));
        for (std::size_t i = ep->order.size(); i > 1; --i)
            std::swap(ep->order[i - 1], ep->order[uniformBelow(rng, i)]);
    }
    ep->batches.resize(batchCount());
    for (std::size_t b = 0; b < ep->batches.size(); ++b) {
        BatchSlot& slot = ep->batches[b];
        slot.count = std::min(impl_->batchSize, ep->order.size() - b * impl_->batchSize);
        slot.remaining = slot.count;
        slot.failures.resize(slot.count);
    }
    {
        std::lock_guard lock(impl_->mutex);
        if (impl_->epoch) impl_->epoch->abandoned = true;
        impl_->epoch = std::move(ep);
        impl_->waitMicroseconds = 0;
    }
    impl_->workAvailable.notify_all();
    impl_->batchReady.notify_all();
}

std::optional<TrainingBatch> BatchLoader::next() {
    std::unique_lock lock(impl_->mutex);
    const std::shared_ptr<EpochState> ep = impl_->epoch;
    if (!ep) throw std::logic_error("BatchLoader::next() before startEpoch()");
    if (ep->abandoned || ep->consumed >= ep->batches.size()) return std::nullopt;
    BatchSlot& slot = ep->batches[ep->consumed];
    if (slot.remaining > 0) {
        const auto start = std::chrono::steady_clock::now();
        impl_->batchReady.wait(lock, [&] { return slot.remaining == 0 || ep->abandoned; });
        impl_->waitMicroseconds += std::chrono::duration_cast<std::chrono::microseconds>(
                                       std::chrono::steady_clock::now() - start)
                                       .count();
        if (slot.remaining > 0) return std::nullopt;
    }
    const std::size_t first = ep->consumed * impl_->batchSize;
    FloatTensor images = std::move(slot.images);
    std::vector<std::optional<SkippedFile>> failures = std::move(slot.failures);
    ++ep->consumed;
    lock.unlock();
    impl_->workAvailable.notify_all();

    // Close the gaps of failed images so the tensor holds only decoded ones, in order.
    TrainingBatch batch;
    const std::size_t perImage = 3 * static_cast<std::size_t>(impl_->spec.inputWidth) *
                                 static_cast<std::size_t>(impl_->spec.inputHeight);
    std::size_t kept = 0;
    for (std::size_t j = 0; j < failures.size(); ++j) {
        if (failures[j]) {
            batch.failed.push_back(std::move(*failures[j]));
            continue;
        }
        const LabelledImage& image = impl_->images[ep->order[first + j]];
        batch.labels.push_back(image.label);
        batch.paths.push_back(image.path);
        if (kept != j)
            std::memmove(images.data.data() + kept * perImage, images.data.data() + j * perImage,
                         perImage * sizeof(float));
        ++kept;
    }
    images.shape[0] = static_cast<std::int64_t>(kept);
    images.data.resize(kept * perImage);
    batch.images = std::move(images);
    return batch;
}

std::size_t BatchLoader::size() const { return impl_->images.size(); }

std::size_t BatchLoader::batchCount() const {
    return (impl_->images.size() + impl_->batchSize - 1) / impl_->batchSize;
}

long long BatchLoader::waitMicroseconds() const { return impl_->waitMicroseconds; }

cv::Mat loadTrainingImage(const std::string& path, int minWidth, int minHeight) {
    const std::unique_ptr<ImageSource> source = openImage(path);  // throws ImageError
    try {
        PixelBuffer pixels = readWholeImage(*source, minWidth, minHeight);
        // readWholeImage gives RGBA8 (grey already windowed and replicated); alpha is dropped.
        const cv::Mat rgba(pixels.height, pixels.width, CV_8UC4, pixels.bytes.data(),
                           pixels.stride());
        cv::Mat rgb;
        cv::cvtColor(rgba, rgb, cv::COLOR_RGBA2RGB);
        return rgb;
    } catch (const FileError&) {
        throw;
    } catch (const std::exception& e) {
        // Some messages already start with the path; the reason alone is enough here.
        std::string reason = e.what();
        if (reason.rfind(path + ": ", 0) == 0) reason.erase(0, path.size() + 2);
        throw ImageError(path, reason);
    }
}

}  // namespace lucida
