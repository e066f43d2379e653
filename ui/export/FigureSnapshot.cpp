#include "FigureSnapshot.h"

#include "HeatmapOverlay.h"
#include "ImageDocument.h"
#include "TileService.h"

namespace lucida::ui {

namespace {

std::unique_ptr<HeatmapOverlay> copyOverlay(HeatmapOverlay& from, const ImageInfo* image,
                                            TileService* tiles) {
    auto to = std::make_unique<HeatmapOverlay>();
    // Heat tiles in the shared cache under the copy's own source ids, gone with the copy.
    if (tiles) to->setTileCache(&tiles->cache());
    // The heat is clipped to the image, as the view's overlay is.
    if (image) to->setImageSize(QSizeF(double(image->width()), double(image->height())));
    to->setColourMap(from.colourMap());
    to->setThreshold(from.threshold());
    to->setOpacity(from.opacity());
    to->setLayer(from.layer());
    to->setHeatmapVisible(from.heatmapVisible());
    to->setRasters(from.raster(HeatmapOverlay::Layer::Cam),
                   from.raster(HeatmapOverlay::Layer::Probability), {}, {}, from.smoothedCam());
    return to;
}

}  // namespace

FigureSnapshot::FigureSnapshot(const FigureSources& sources, const FigureOptions& options,
                               const std::vector<HeatmapOverlay*>& overlays)
    : sources_(sources), options_(options) {
    if (sources.document) {
        const ImageDocument& from = *sources.document;
        document_ = std::make_unique<ImageDocument>(from.source());
        document_->setSlice(from.slice());
        document_->setWindow(from.window().centre, from.window().width,
                             QString::fromStdString(from.window().name));
        sources_.document = document_.get();
    }
    for (HeatmapOverlay* overlay : overlays) {
        if (!overlay) continue;
        overlays_.push_back(copyOverlay(
            *overlay, sources.document ? &sources.document->info() : nullptr, sources.tiles));
        copies_[overlay->layers().front()] = overlays_.back()->layers().front();
    }
    sources_.heat = copyOf(sources.heat);
    for (FigurePanel& panel : options_.panels) panel.heatLayer = copyOf(panel.heatLayer);
    if (sources.annotations) {
        annotations_ = *sources.annotations;
        sources_.annotations = &*annotations_;
    }
}

FigureSnapshot::~FigureSnapshot() = default;

Layer* FigureSnapshot::copyOf(Layer* layer) const {
    const auto it = copies_.find(layer);
    return it == copies_.end() ? layer : it->second;
}

}  // namespace lucida::ui
