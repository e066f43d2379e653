#pragma once

#include "model/FloatTensor.h"

namespace lucida {

// How alike two saliency maps of the same shape are, as the model-randomisation sanity check
// (Adebayo et al. 2018) reports them. Both throw std::invalid_argument on shapes that differ.

// Spearman's rank correlation over all cells (tied values share their mean rank); 0 when either
// map is constant.
double spearmanCorrelation(const FloatTensor& a, const FloatTensor& b);

// Structural similarity of [H, W] maps, each scaled to [0, 1] by its own min–max first (a constant
// map is all zeros): the mean over 7 × 7 windows (valid positions; the whole map if smaller) of
// SSIM with C1 = 0.01², C2 = 0.03² and sample (co)variances — scikit-image's structural_similarity
// with data_range=1, win_size=7.
double structuralSimilarity(const FloatTensor& a, const FloatTensor& b);

}  // namespace lucida
