#pragma once

#include "cam/Explainer.h"

#include <vector>

namespace at {
class Tensor;
}

namespace lucida {

class CamMethod;
struct CamContext;

// Eigen smoothing (pytorch-grad-cam's eigen_smooth): the method's per-channel terms [B, C, h, w]
// projected on their first principal component (pixels as samples, channels centred; float64)
// instead of summed over channels, then a ReLU. The SVD's sign is arbitrary: it is chosen so the
// projection correlates positively with the unsmoothed channel sum. Eigen-CAM is returned as is
// (it already is that projection, of the activations).
at::Tensor eigenSmoothedMaps(const CamMethod& method, const CamContext& context);

// Test-time augmentation: the batch explained as is and flipped left-right, top-bottom and both;
// each map flipped back (at the layer's resolution, which equals flipping in the image frame since
// upsampling is symmetric) and the four averaged. Every flip explains the class the unflipped image
// explained; logits and probabilities are the unflipped image's.
std::vector<Explanation> explainWithFlips(const Model& model, const FloatTensor& batch,
                                          const ExplainOptions& options);

}  // namespace lucida
