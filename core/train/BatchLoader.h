#pragma once

#include "model/FloatTensor.h"
#include "model/ModelSpec.h"
#include "train/Augment.h"
#include "train/ImageFolder.h"

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace cv {
class Mat;
}

namespace lucida {

// A batch ready for the model: images normalised with the spec's mean/std, [N, 3, H, W].
struct TrainingBatch {
    FloatTensor images;
    std::vector<int> labels;
    std::vector<std::string> paths;
    std::vector<SkippedFile> failed;  // images of this batch that could not be decoded
};

struct BatchLoaderOptions {
    int batchSize = 32;
    bool shuffle = true;
    bool augment = false;  // apply `augmentation` (training) or not (validation)
    AugmentOptions augmentation;
    int threads = 0;  // decoding/augmentation threads; 0: one per core
    int prefetchBatches = 4;
    std::uint64_t seed = 0;  // shuffle order and augmentations of epoch e use seed + e
};

// Decodes (through Lucida's image sources: 8/16-bit, DICOM, slides' whole image), resizes to the
// spec's input size, augments and normalises images on a thread pool, `prefetchBatches` ahead of
// the consumer. One epoch per startEpoch(); next() returns batches in order, nullopt at the end.
// An image that fails to decode is left out of its batch and reported in `failed` (a batch whose
// every image failed has N = 0). Deterministic: the order depends on seed + epoch, each image's
// augmentation on seed + epoch and its index, never on thread timing. startEpoch() during an
// epoch abandons it; destruction waits only for the images in hand.
class BatchLoader {
public:
    BatchLoader(std::vector<LabelledImage> images, ModelSpec spec, BatchLoaderOptions options);
    ~BatchLoader();

    void startEpoch(int epoch);
    std::optional<TrainingBatch> next();
    std::size_t size() const;        // images
    std::size_t batchCount() const;  // per epoch
    // Microseconds the consumer spent waiting in next() since startEpoch (the model starving).
    long long waitMicroseconds() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Decodes one training image to 8-bit RGB (CV_8UC3, RGB order) at the resolution closest above
// minWidth x minHeight the source offers (grey replicated, 16-bit/DICOM windowed as the viewer
// does). Throws FileError(path, reason).
cv::Mat loadTrainingImage(const std::string& path, int minWidth, int minHeight);

}  // namespace lucida
