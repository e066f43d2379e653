#pragma once

#include "image/PixelBuffer.h"
#include "model/FloatTensor.h"

#include <string>
#include <vector>

namespace lucida {

// Post-processing of raw CAM maps, kept apart from the methods so maps stay comparable: one scale
// can be shared by many images or tiles. No LibTorch here (OpenCV).

struct MapScale {
    float low = 0;
    float high = 1;
};

MapScale minMaxScale(const FloatTensor& map);                       // one image's own range
MapScale sharedScale(const std::vector<const FloatTensor*>& maps);  // one range for many
// (v - low) / (high - low), clamped to [0, 1]; a flat range gives zeros.
FloatTensor normalise(const FloatTensor& map, const MapScale& scale);

// Bilinear resize of an [h, w] map to [height, width], with half-pixel centres (OpenCV's
// INTER_LINEAR = PyTorch's interpolate(align_corners=False)): pixel centres map as
// x_src = (x_dst + 0.5) * w / width - 0.5.
FloatTensor upsample(const FloatTensor& map, int width, int height);

enum class ColourMap { Jet, Viridis, Turbo, Inferno, Grey };
ColourMap colourMapFromName(const std::string& name);  // throws std::invalid_argument

// A normalised map ([0, 1]; NaN: nothing there) as colours: Rgba8 of the map's size, NaN cells
// transparent.
PixelBuffer colouriseMap(const FloatTensor& normalisedMap, ColourMap colours);

// The image with a normalised map ([0, 1], any size: resized to the image) blended on top;
// `opacity` 0..1, values below `threshold` left uncoloured. Result: Rgba8 of the image's size.
PixelBuffer overlayHeatmap(const PixelBuffer& rgba, const FloatTensor& normalisedMap,
                           ColourMap colours, float opacity, float threshold = 0.0f);

}  // namespace lucida
