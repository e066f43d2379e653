#pragma once

#include "model/FloatTensor.h"

#include <cstdint>
#include <vector>

namespace lucida {

// ROAD's noisy linear imputation (Rong et al. 2022, "A consistent and efficient evaluation
// strategy for attribution methods"): every removed pixel becomes the weighted mean of its eight
// neighbours (1/6 for the four sharing an edge, 1/12 for the diagonals; neighbours outside the
// image left out), removed neighbours included, so all removed pixels are solved together as one
// sparse linear system per channel; then Gaussian noise is added to them. Unlike blurring or a
// mean, the filled-in pixels do not give away where the removed ones were (the paper's "class
// information leakage"). A removed area with no kept pixel around it gets the kept pixels' mean
// (the image's mean when nothing is kept).

struct RoadOptions {
    double noise = 0.01;  // standard deviation of the added noise, in the image's units
    std::uint64_t seed = 17;
    double tolerance = 1e-6;  // conjugate gradients: relative residual to stop at
};

// `image` [C, H, W]; `removed` H·W flags (row-major). Returns the imputed image.
FloatTensor noisyLinearImputation(const FloatTensor& image, const std::vector<bool>& removed,
                                  const RoadOptions& options = {});

}  // namespace lucida
