#pragma once
// The annotations over the image (the renderer's annotation slot): outlines in their class's
// colour, areas lightly filled, points as dots, lines, arrows and text callouts, the selection
// highlighted, and the shape being drawn with its live measurement beside it.
// What does not change while the view pans is cached as image tiles of kTileSize screen pixels at
// the view's scale (50,000 cells would cost ~50 ms a frame drawn anew); the selection with its
// handles, text callouts and the shape being drawn are drawn live every paint.

#include "Layer.h"
#include "annotations/Annotation.h"

#include <QObject>
#include <QPointF>
#include <QString>

#include <cstddef>
#include <memory>
#include <optional>
#include <vector>

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

    // Cached tiles: screen pixels a side, and bytes kept per scale (at least 1.5 times what a
    // paint shows); the view's scale and one other (an export) are kept, least recently used out
    // first.
    static constexpr int kTileSize = 512;
    static constexpr std::size_t kBytesPerScale = std::size_t{64} << 20;
    static constexpr int kScalesKept = 2;

    AnnotationLayer(AnnotationDocument* annotations, ImageDocument* image);
    ~AnnotationLayer() override;

    void paint(QPainter& painter, const LayerContext& context) override;

    // The shape being drawn (level-0 pixels) and its measurement text; cleared when done.
    void setPreview(const Geometry& geometry, const QString& text, Rgb colour, bool arrow = false);
    // With several moved at once: the others, drawn as the preview without its text.
    void setPreviewOthers(std::vector<Geometry> others) { previewOthers_ = std::move(others); }
    std::size_t previewShapes() const { return (preview_ ? 1 : 0) + previewOthers_.size(); }
    void clearPreview();

    // Objects shown by the last paint: in its tiles (one across tiles counts in each) and live.
    int lastPainted() const { return lastPainted_; }
    void clearCache();        // the next paint renders every tile anew
    int cachedTiles() const;  // all scales

private:
    struct Tiles;
    enum class Pass { Cached, Live };

    void paintPreview(QPainter& painter, const LayerContext& context) const;
    // Draws the objects of `hits` that belong to `pass`, level-0 point p at p * scale + origin;
    // returns how many it drew.
    int drawObjects(QPainter& painter, double scale, QPointF origin,
                    const std::vector<std::size_t>& hits, Pass pass) const;
    bool isLive(std::size_t index) const;
    void updateLive();  // the live objects' indices and bounds, after an edit or a selection
    void onSelectionChanged();

    AnnotationDocument* annotations_;
    ImageDocument* image_;
    struct Preview {
        Geometry geometry;
        QString text;
        Rgb colour;
        bool arrow;
    };
    std::optional<Preview> preview_;
    std::vector<Geometry> previewOthers_;
    int lastPainted_ = 0;
    std::unique_ptr<Tiles> tiles_;
    std::vector<std::size_t> live_;  // selected objects and text callouts
    std::vector<Bounds> liveBounds_;
    bool liveDirty_ = true;
    QObject receiver_;  // the document's signals, disconnected with the layer
};

}  // namespace lucida::ui
