#pragma once
// The annotations over the image (the renderer's annotation slot): outlines in their class's
// colour, areas lightly filled, points as dots, lines, arrows and text callouts, the selection
// highlighted, and the shape being drawn with its live measurement beside it.

#include "Layer.h"
#include "annotations/Annotation.h"

#include <QString>

#include <optional>

namespace lucida::ui {

class AnnotationDocument;
class ImageDocument;

class AnnotationLayer : public Layer {
public:
    // Objects whose bounds are smaller than this on screen (pixels) are drawn as one dot: 50,000
    // cell detections at low zoom cost a point each, not a path each.
    static constexpr double kDotBelowPixels = 2.0;
    // Below this (and above a dot) an object is drawn as its bounding box, batched per colour.
    static constexpr double kBoxBelowPixels = 6.0;

    AnnotationLayer(AnnotationDocument* annotations, ImageDocument* image);

    void paint(QPainter& painter, const LayerContext& context) override;

    // The shape being drawn (level-0 pixels) and its measurement text; cleared when done.
    void setPreview(const Geometry& geometry, const QString& text, Rgb colour, bool arrow = false);
    void clearPreview();

    int lastPainted() const { return lastPainted_; }  // objects drawn as shapes or dots

private:
    void paintPreview(QPainter& painter, const LayerContext& context) const;

    AnnotationDocument* annotations_;
    ImageDocument* image_;
    struct Preview {
        Geometry geometry;
        QString text;
        Rgb colour;
        bool arrow;
    };
    std::optional<Preview> preview_;
    int lastPainted_ = 0;
};

}  // namespace lucida::ui
