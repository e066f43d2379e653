#pragma once

#include "image/ImageSource.h"
#include "model/FloatTensor.h"
#include "model/ModelSpec.h"

#include <vector>

namespace lucida {

// An image as the model sees it: resized (bilinear, half-pixel centres, as torchvision's
// Resize on tensors without antialias) to the input size, scaled to [0, 1], grey replicated to 3
// channels, normalised with the spec's mean/std. Gray16 images go through `window` first.
// Returns [1, 3, H, W].
FloatTensor preprocess(const PixelBuffer& image, const ModelSpec& spec,
                       const Window* window = nullptr, const GrayMapping* mapping = nullptr);

// The whole image of a source at the resolution closest above the model's input, as RGBA8 (grey
// windowed with the slice's first window). For explaining a whole image.
PixelBuffer readWholeImage(const ImageSource& source, int minWidth, int minHeight, int slice = 0);

// Stacks [1, 3, H, W] tensors into one batch.
FloatTensor stackBatch(const std::vector<FloatTensor>& images);

}  // namespace lucida
