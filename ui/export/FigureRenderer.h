#pragma once
// A figure of one region of an image: the slide (and the heat as shown) rendered off-screen by
// SceneRenderer at the output's own scale — from the pyramid level that scale needs, never from
// the screen — then annotations, scale bar, colour bar, caption and overview inset drawn as
// vector shapes and text on any QPainter (an image, an SVG, a PDF), so they stay vectors there.

#include "FigureOptions.h"
#include "cam/CamMaps.h"

#include <QRect>
#include <QSize>
#include <QString>

class QImage;
class QPainter;

namespace lucida {
struct AnnotationSet;
}

namespace lucida::ui {

class FigureProgress;
class ImageDocument;
class Layer;
class TileService;

// What a figure is made of: the image and the loader its tiles come through, and optionally the
// heat layer as the viewer shows it (colours, opacity, threshold) and the annotations.
struct FigureSources {
    ImageDocument* document = nullptr;
    TileService* tiles = nullptr;
    Layer* heat = nullptr;  // not owned; null: no heat
    ColourMap colours = ColourMap::Jet;
    double threshold = 0;
    const AnnotationSet* annotations = nullptr;  // not owned; null: none
};

// Where everything goes, in output pixels.
struct FigureLayout {
    QSize size;
    std::vector<QRect> panels;
    double scale = 1;  // output pixels per level-0 pixel
    double unit = 12;  // text height; margins and lines follow it
    QRectF colourBar;  // empty: none
    QRectF caption;    // empty: none
    QRectF overview;   // empty: none
    QRectF scaleBar;   // the bar's box with its label; empty: none
};

// The scale bar: `lengthUm` drawn `pixels` long (whole output pixels, the length rounded to one).
struct FigureScaleBar {
    double lengthUm = 0;  // 0: the image has no pixel size
    int pixels = 0;
    QString label;
};

class FigureRenderer {
public:
    static constexpr int kMaxSide = 20000;  // output pixels: beyond, memory runs out

    explicit FigureRenderer(FigureSources sources) : sources_(sources) {}

    // Every item where options.placement puts it (clamped inside the figure), or by default.
    // The figure's size does not depend on the placement.
    FigureLayout layout(const FigureOptions& options) const;
    FigureScaleBar scaleBar(const FigureOptions& options) const;
    // The caption as drawn: the user's text, plus the patient's details only when asked for.
    QString captionText(const FigureOptions& options) const;

    // Renders the panels' rasters (waits for tiles: call on the GUI thread, which owns the
    // layers), then paints the whole figure on `painter`, whose device is layout().size pixels.
    void paint(QPainter& painter, const FigureOptions& options) const;
    // The same into an image (ARGB32 premultiplied over white) with `dpi` recorded.
    QImage renderImage(const FigureOptions& options) const;
    // One panel's raster alone: the slide, with the heat when `heat`.
    QImage renderPanel(const FigureOptions& options, QSize size, bool heat) const;
    // … with `heat` (null: none) as its heat layer.
    QImage renderPanel(const FigureOptions& options, QSize size, Layer* heat) const;

    // An export's progress (not owned; null: none): renders then wait for their tiles through it,
    // counted and cancellable (FigureCancelled), and may run on a worker thread when every
    // source is the worker's own (FigureSnapshot).
    void setProgress(FigureProgress* progress) { progress_ = progress; }

private:
    FigureScaleBar scaleBarAt(double scale, int panelWidth) const;

    FigureSources sources_;
    FigureProgress* progress_ = nullptr;
};

// Default caption text: image name, magnification, model, method, layer, class, today's date
// (the empty ones left out).
QString defaultFigureCaption(const ImageDocument& document, const QString& model,
                             const QString& method, const QString& layer, const QString& className);

}  // namespace lucida::ui
