#pragma once

#include "Layer.h"

#include <QPolygonF>

#include <vector>

namespace lucida::ui {

// Closed outlines in level-0 coordinates (the tissue found by an analysis), drawn as two-pixel
// lines at any zoom.
class OutlineLayer final : public Layer {
public:
    void setOutlines(std::vector<QPolygonF> outlines);
    const std::vector<QPolygonF>& outlines() const { return outlines_; }
    void paint(QPainter& painter, const LayerContext& context) override;

private:
    std::vector<QPolygonF> outlines_;
    std::vector<QRectF> bounds_;  // parallel to outlines_
};

}  // namespace lucida::ui
