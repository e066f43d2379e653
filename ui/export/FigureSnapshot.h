#pragma once
// A figure's sources copied on the GUI thread, so that a worker thread renders the figure while the
// view, its analysis and its annotations go on changing: a document of the same image (slice and
// grey window), a heat overlay per heat layer (the same rasters, colours, opacity and threshold;
// rasters are shared, immutable), and the annotations. Tiles still come through the shared
// TileService's loader and cache, which any thread may use.

#include "FigureRenderer.h"
#include "annotations/Annotation.h"

#include <map>
#include <memory>
#include <optional>
#include <vector>

namespace lucida::ui {

class HeatmapOverlay;

class FigureSnapshot {
public:
    // `overlays`: the overlays whose heat layers `sources` and `options`' panels use; each such
    // layer is replaced by its copy's. A heat layer of no listed overlay is used as it is: it must
    // then be one no other thread touches while the figure renders.
    FigureSnapshot(const FigureSources& sources, const FigureOptions& options,
                   const std::vector<HeatmapOverlay*>& overlays);
    ~FigureSnapshot();
    FigureSnapshot(const FigureSnapshot&) = delete;
    FigureSnapshot& operator=(const FigureSnapshot&) = delete;

    const FigureSources& sources() const { return sources_; }
    const FigureOptions& options() const { return options_; }

private:
    Layer* copyOf(Layer* layer) const;

    std::unique_ptr<ImageDocument> document_;
    std::vector<std::unique_ptr<HeatmapOverlay>> overlays_;
    std::map<Layer*, Layer*> copies_;  // original heat layer → its copy's
    std::optional<AnnotationSet> annotations_;
    FigureSources sources_;
    FigureOptions options_;
};

}  // namespace lucida::ui
