#pragma once

#include <array>
#include <cstdint>
#include <random>

namespace cv {
class Mat;
}

namespace lucida {

// Training-time augmentations, applied in this order: random resized crop, flips, 90° rotations,
// colour jitter, H&E stain jitter. All off by default.
struct AugmentOptions {
    bool horizontalFlip = false;
    bool verticalFlip = false;
    bool rotate90 = false;  // 0, 90, 180 or 270 degrees
    // Random resized crop (torchvision's RandomResizedCrop): area share in [cropScaleMin, 1],
    // aspect ratio in [3/4, 4/3]; 1 disables it.
    double cropScaleMin = 1.0;
    // Colour jitter factors as torchvision's ColorJitter (0 disables each).
    double brightness = 0, contrast = 0, saturation = 0, hue = 0;
    // H&E stain jitter (Tellez et al. 2018): the image is unmixed into haematoxylin, eosin and
    // DAB optical densities (Ruifrok & Johnston's matrix), each scaled by U(1-s, 1+s) and shifted
    // by U(-b, b), and mixed back. 0 disables it.
    double heSigma = 0, heBias = 0;

    bool any() const {
        return horizontalFlip || verticalFlip || rotate90 || cropScaleMin < 1.0 || brightness > 0 ||
               contrast > 0 || saturation > 0 || hue > 0 || heSigma > 0 || heBias > 0;
    }
};

// Augments an 8-bit RGB image (CV_8UC3, RGB order) and returns an RGB image of
// outWidth x outHeight (resized as resizeForTraining after the crop). Deterministic for a given
// rng state, on any standard library (only raw generator output is used). With every option off
// it is resizeForTraining(rgb, outWidth, outHeight).
cv::Mat augmentImage(const cv::Mat& rgb, const AugmentOptions& options, int outWidth, int outHeight,
                     std::mt19937_64& rng);

// The training pipeline's resize: area averaging when neither side grows (no aliasing when
// shrinking), bilinear otherwise. Always returns a new image.
cv::Mat resizeForTraining(const cv::Mat& image, int width, int height);

// The H&E stain jitter with given factors, in place on an RGB CV_8UC3 image: the optical density
// of stain k (haematoxylin, eosin, DAB; in scikit-image's rgb2hed units) becomes
// od * scale[k] + shift[k]. Scale 1, shift 0 returns the image within one grey level.
void jitterHedStains(cv::Mat& rgb, const std::array<double, 3>& scale,
                     const std::array<double, 3>& shift);

}  // namespace lucida
