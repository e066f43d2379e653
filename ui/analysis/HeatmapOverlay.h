#pragma once

#include "HeatTiles.h"
#include "Layer.h"
#include "OutlineLayer.h"
#include "SlideView.h"  // what the overlay is attached to (includers use it)
#include "analysis/AnalysisOutputs.h"
#include "cam/CamMaps.h"

#include <QImage>
#include <QObject>
#include <QPolygonF>
#include <QRectF>

#include <atomic>
#include <memory>
#include <unordered_map>
#include <vector>

namespace lucida::ui {

// A raster's cells as colours (ARGB32 premultiplied, one pixel per cell): colouriseMap's colours,
// cells without a value or below `threshold` transparent. Safe on any thread.
QImage colouriseRaster(const FloatRaster& raster, ColourMap colours, double threshold);

// A raster colourised ahead (on a worker thread), with what it was colourised with, and its
// halved copies for zoomed-out views (values averaged by halveRaster, then colourised), made there
// too so the GUI thread only draws.
struct ColouredRaster {
    QImage image;
    ColourMap colours = ColourMap::Jet;
    double threshold = 0;
    std::vector<std::shared_ptr<const FloatRaster>> reduced;  // halved 1, 2, … times
    std::vector<QImage> reducedImages;                        // parallel to `reduced`
};

// `raster` colourised with its halved copies down to a cell or two (any thread).
ColouredRaster colouriseWithReductions(const FloatRaster& raster, ColourMap colours,
                                       double threshold);

// What an analysis shows over a SlideView, as two layers of its renderer: the heat, the CAM raster
// or the probability raster published as HeatTiles (bilinear in the raster's values, as
// `lucida-cli explain`, then coloured; cells below the threshold and cells without a value
// transparent) in the shared TileCache, drawn tile by tile at the level that matches the view
// with the layer's own opacity; then the tissue outlines. Painting never makes a tile: it draws
// what is cached (stale tiles until remade, coarser levels where a tile is missing) and asks the
// tiles' worker for the rest, newest request first; `changed` follows when they are made. Tiles
// count against the cache's byte budget like image tiles. Off-screen renders wait for them.
class HeatmapOverlay : public QObject, public SlideOverlay {
    Q_OBJECT
public:
    enum class Layer { Cam, Probability };

    explicit HeatmapOverlay(QObject* parent = nullptr);
    ~HeatmapOverlay() override;

    // New rasters (either may be null or empty); values in [0, 1], NaN where nothing was analysed.
    // Images colourised ahead are used when they match the colours and threshold at the time;
    // otherwise the shown layer is colourised when first painted.
    // `camSmooth` (whole images: smoothWholeImageCam) is what the CAM's tiles are drawn from
    // instead of `cam` when given.
    void setRasters(std::shared_ptr<const FloatRaster> cam,
                    std::shared_ptr<const FloatRaster> probability, ColouredRaster camImage = {},
                    ColouredRaster probabilityImage = {},
                    std::shared_ptr<const FloatRaster> camSmooth = nullptr);
    void clear();          // no heatmap (outlines stay)
    bool isEmpty() const;  // nothing to draw for the layer shown
    std::shared_ptr<const FloatRaster> raster(Layer layer) const;
    std::shared_ptr<const FloatRaster> shownRaster() const { return raster(layer_); }
    // The smoothed CAM the heat is drawn from instead of the CAM, when one was given (copies).
    std::shared_ptr<const FloatRaster> smoothedCam() const { return camSmooth_; }

    // Level-0 size of the image: the heatmap is clipped to it.
    void setImageSize(QSizeF size);
    // The cache heat tiles live in (the views' shared one; not owned, must outlive the overlay).
    // Null: a small cache of the overlay's own.
    void setTileCache(TileCache* cache);

    void setLayer(Layer layer);
    Layer layer() const { return layer_; }
    void setColourMap(ColourMap colours);
    ColourMap colourMap() const { return colours_; }
    void setOpacity(double opacity);  // 0..1
    double opacity() const { return heat_.opacity(); }
    void setThreshold(double threshold);  // 0..1: cells below are transparent
    double threshold() const { return threshold_; }
    void setHeatmapVisible(bool visible);
    bool heatmapVisible() const { return heat_.isVisible(); }

    // Tissue outlines in level-0 coordinates.
    void setOutlines(std::vector<QPolygonF> outlines);
    const std::vector<QPolygonF>& outlines() const { return outline_.outlines(); }
    void setOutlineVisible(bool visible);
    bool outlineVisible() const { return outline_.isVisible(); }

    // The shown layer colourised (ARGB32 premultiplied, one pixel per cell); null when empty.
    // Made on demand (painting draws tiles, not this).
    const QImage& image();
    // How many paints drew the heatmap (tests: is it really painted?).
    int heatmapPaints() const { return heatmapPaints_; }
    // How many halved copies painting had to make itself (tests: made ahead, this stays 0).
    int reductionsMadeInPaint() const {
        return tiles_[0]->reductionsMade() + tiles_[1]->reductionsMade();
    }
    // The shown layer's heat tiles (tests, benchmarks).
    HeatTiles& shownTiles() const { return *tiles_[index(layer_)]; }
    // Whether the last paint drew every visible heat tile current (none missing or stale).
    bool heatComplete() const { return heatComplete_; }

    // The heat, then the outlines.
    std::vector<ui::Layer*> layers() override { return {&heat_, &outline_}; }

signals:
    void changed();  // the view should repaint

private:
    class HeatLayer final : public ui::Layer {  // ui::Layer: Layer above is the raster shown
    public:
        explicit HeatLayer(HeatmapOverlay& overlay) : overlay_(overlay) {}
        void paint(QPainter& painter, const LayerContext& context) override {
            overlay_.paintHeat(painter, context);
        }
        void prepareOffscreen(const LayerContext& context) override {
            overlay_.prepareHeat(context);
        }
        bool paintedComplete() const override { return overlay_.heatComplete_; }

    private:
        HeatmapOverlay& overlay_;
    };

    void paintHeat(QPainter& painter, const LayerContext& context);
    void prepareHeat(const LayerContext& context);
    // The heat's part of the visible area (clipped to the image), in level-0 pixels.
    QRectF heatArea(const LayerContext& context) const;
    std::vector<TileKey> tilesOver(const HeatTiles& tiles, int level, const QRectF& area) const;
    void drawBackdrop(QPainter& painter, HeatTiles& tiles, int level, const QRectF& area,
                      const std::vector<TileKey>& holes);
    void tilesArrived();  // any thread
    void invalidate();
    void publish(Layer layer, std::vector<std::shared_ptr<const FloatRaster>> reduced);
    int index(Layer layer) const { return layer == Layer::Cam ? 0 : 1; }
    TileCache& cache() { return cache_ ? *cache_ : *ownCache_; }

    std::shared_ptr<const FloatRaster> cam_, probability_, camSmooth_;
    QSizeF imageSize_;
    Layer layer_ = Layer::Cam;
    ColourMap colours_ = ColourMap::Jet;
    double threshold_ = 0;
    HeatLayer heat_{*this};  // visible and opacity: the heat's
    OutlineLayer outline_;
    QImage images_[2];  // per layer; null: to be made
    // Per layer, with their halved rasters (made ahead or on demand) and worker.
    std::unique_ptr<HeatTiles> tiles_[2];
    std::unordered_map<TileKey, TilePtr, TileKeyHash> held_;  // off-screen: prepared tiles
    bool heatComplete_ = true;
    std::atomic<bool> arrivalPending_{false};
    TileCache* cache_ = nullptr;
    std::unique_ptr<TileCache> ownCache_;

    int heatmapPaints_ = 0;
};

}  // namespace lucida::ui
