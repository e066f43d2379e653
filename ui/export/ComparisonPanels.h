#pragma once
// A comparison figure's panels: one region under several CAM methods or classes, each panel with
// its own heat layer (a HeatmapOverlay coloured as the viewer colours) and labelled by what
// differs between the panels — the method, the class, or both.

#include "FigureOptions.h"
#include "RegionCams.h"
#include "cam/CamMaps.h"

#include <QSizeF>

#include <memory>
#include <vector>

namespace lucida::ui {

class HeatmapOverlay;

class ComparisonPanels {
public:
    // `imageSize`: level-0 size of the image (heat is clipped to it).
    ComparisonPanels(const std::vector<RegionCam>& cams, QSizeF imageSize, ColourMap colours,
                     double opacity, double threshold);
    ~ComparisonPanels();
    ComparisonPanels(const ComparisonPanels&) = delete;
    ComparisonPanels& operator=(const ComparisonPanels&) = delete;

    // Sets options.panels (one heat panel per map, after an image-only panel when `withImage`)
    // and the colour bar's label. The panels point into this object: keep it while rendering.
    void apply(FigureOptions& options, bool withImage = false) const;

    std::size_t size() const { return overlays_.size(); }
    HeatmapOverlay& overlay(std::size_t i) const { return *overlays_[i]; }
    const QStringList& labels() const { return labels_; }
    const QString& colourBarLabel() const { return colourBarLabel_; }
    // The panels' distinct methods ("Grad-CAM | Score-CAM") and classes, for a caption.
    const QString& methods() const { return methods_; }
    const QString& classes() const { return classes_; }

private:
    std::vector<std::unique_ptr<HeatmapOverlay>> overlays_;
    QStringList labels_;
    QString colourBarLabel_, methods_, classes_;
};

}  // namespace lucida::ui
