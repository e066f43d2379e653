#pragma once

#include "ImageDocument.h"
#include "Layer.h"

namespace lucida::ui {

// A scale bar in the bottom-left corner of the target, in micrometres or millimetres, when the
// image says its pixel size. Fixed to the target, not the image.
class ScaleBarLayer final : public Layer {
public:
    explicit ScaleBarLayer(const ImageDocument* document) : document_(document) {}
    void paint(QPainter& painter, const LayerContext& context) override;
    Space space() const override { return Space::Target; }

private:
    const ImageDocument* document_;
};

}  // namespace lucida::ui
