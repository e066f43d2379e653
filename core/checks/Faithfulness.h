#pragma once

#include "model/FloatTensor.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace lucida {

// Faithfulness of a saliency map by deletion and insertion (Petsiuk et al. 2018, RISE): pixels are
// taken in the map's order (highest first) and replaced, step by step, by a "removed" image (the
// image blurred, or each channel's mean); the class probability is recorded against the share of
// pixels replaced. Deletion starts from the image and removes; insertion starts from the removed
// image and puts the image's pixels back. A faithful map has a low deletion and a high insertion
// area under the curve; a random order is the baseline. Torch-free: the model is a callback.

// Road: ROAD's noisy linear imputation (RoadImputation.h), recomputed from the image at every
// step for the pixels removed so far (deletion) or not yet restored (insertion).
enum class Removal { Blur, Mean, Road };
Removal removalFromName(const std::string& name);  // "blur", "mean", "road"; invalid_argument
std::string removalName(Removal removal);

struct FaithfulnessOptions {
    int steps = 32;  // curve points after the first: shares 0, 1/steps, ..., 1
    Removal removal = Removal::Blur;
    double blurSigma = 0;     // 0: a tenth of the image's shorter side
    std::uint64_t seed = 17;  // of the random-order baseline (and of ROAD's noise)
    double roadNoise = 0.01;  // ROAD: standard deviation of the noise on imputed pixels
    // Called after each batch of forwards with (images done, images in all four curves);
    // returning true cancels (std::runtime_error "faithfulness check cancelled" is thrown).
    std::function<bool(int, int)> progress;
};

struct Curve {
    std::vector<double> share;        // of pixels replaced, 0 .. 1
    std::vector<double> probability;  // of the explained class at each share
    double auc = 0;                   // trapezoid rule over share in [0, 1]
};

struct FaithfulnessResult {
    Curve deletion, insertion;              // in the map's order
    Curve randomDeletion, randomInsertion;  // in a seeded random order
};

// Class probabilities of a batch of images [N, C, H, W] (in the model's input space).
using ProbabilityOf = std::function<std::vector<double>(const FloatTensor& batch)>;

// `image` [C, H, W]; `map` [H, W] at the image's resolution (upsample first: CamMaps.h). Ties in
// the map keep pixel order (row-major), so results are reproducible. Runs `steps + 1` images per
// curve, batched `batch` at a time.
FaithfulnessResult measureFaithfulness(const FloatTensor& image, const FloatTensor& map,
                                       const ProbabilityOf& probability,
                                       const FaithfulnessOptions& options = {}, int batch = 8);

// The image with every pixel replaced as `removal` says ([C, H, W]); blur and mean only.
FloatTensor removedImage(const FloatTensor& image, Removal removal, double blurSigma);

// Pixel indices (row-major) from the highest map value to the lowest, ties by index.
std::vector<std::int64_t> pixelOrder(const FloatTensor& map);

// The area under y(x) by the trapezoid rule.
double trapezoidArea(const std::vector<double>& x, const std::vector<double>& y);

}  // namespace lucida
