#pragma once
// What presentation mode draws over the image, for a room to read: a large scale bar (bottom
// left), the heat's colour legend with its value scale (bottom right, when heat is shown) and
// the bookmark's name with its place in the list (top left). Fixed to the target.

#include "Layer.h"
#include "cam/CamMaps.h"

#include <QImage>
#include <QString>

#include <optional>

namespace lucida::ui {

class ImageDocument;

class PresentationLayer final : public Layer {
public:
    explicit PresentationLayer(const ImageDocument* document) : document_(document) {}
    void paint(QPainter& painter, const LayerContext& context) override;
    Space space() const override { return Space::Target; }

    void setCaption(const QString& caption) { caption_ = caption; }
    QString caption() const { return caption_; }
    // The heat legend (none: no heat shown): its colours, title and threshold.
    void setLegend(std::optional<ColourMap> colours, const QString& title, double threshold);
    bool hasLegend() const { return colours_.has_value(); }

    // The scale bar's length in target pixels and its label for a view, as painted (tests).
    static std::optional<std::pair<double, QString>> scaleBar(const ImageDocument& document,
                                                              double viewScale);

private:
    void paintScaleBar(QPainter& painter, const LayerContext& context) const;
    void paintLegend(QPainter& painter, const LayerContext& context) const;
    void paintCaption(QPainter& painter, const LayerContext& context) const;

    const ImageDocument* document_;
    QString caption_;
    std::optional<ColourMap> colours_;
    QString legendTitle_;
    double threshold_ = 0;
    QImage bar_;  // the colour map, one pixel per step
};

}  // namespace lucida::ui
