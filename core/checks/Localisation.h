#pragma once

#include "model/FloatTensor.h"

#include <vector>

namespace lucida {

// Localisation of a saliency map against a ground-truth mask (annotations rasterised, or a mask
// image), both [H, W] at the same resolution.

// Pointing game (Zhang et al. 2016): a hit when the map's maximum lies within `tolerance` pixels
// (Euclidean) of a mask pixel; ties take the first maximum in row-major order. An all-zero map is
// a miss.
bool pointingHit(const FloatTensor& map, const std::vector<bool>& mask, double tolerance = 15);

// Energy-based pointing game (Score-CAM, Wang et al. 2020): the share of the map's (ReLU'd) energy
// inside the mask, 0..1; 0 for an all-zero map.
double energyInMask(const FloatTensor& map, const std::vector<bool>& mask);

}  // namespace lucida
