#pragma once
// The vector parts of a figure, each drawn on any QPainter in output pixels: annotation outlines
// and labels, the scale bar, the colour bar, the caption and the overview's region mark.

#include "FigureRenderer.h"
#include "annotations/AnnotationMeasure.h"

#include <QImage>
#include <QRectF>

namespace lucida::ui {

// Level-0 annotations inside `panel`, level-0 point p at panel.topLeft + (p - region) * scale.
// With `pixel`, each area's or line's label is followed by its measurement ("Lesion · 0.52 mm²").
void drawFigureAnnotations(QPainter& painter, const AnnotationSet& annotations, const QRect& panel,
                           const RectF& region, double scale, double unit,
                           const PixelSize* pixel = nullptr);

// An annotation's label on a figure: its text, name or class, and its measurement when `pixel`.
QString figureAnnotationLabel(const Annotation& annotation, const PixelSize* pixel);

// The bar and its label on a light box of figureScaleBarSize() at `topLeft` (whole pixels).
void drawFigureScaleBar(QPainter& painter, const FigureScaleBar& bar, QPoint topLeft, double unit);
QSize figureScaleBarSize(const FigureScaleBar& bar, double unit);

// A horizontal gradient of `colours` over [0, 1], its label above and the ends' values below.
void drawFigureColourBar(QPainter& painter, const QRectF& area, ColourMap colours, double threshold,
                         const FigureOptions& options, double unit);

// `backdrop`: a caption moved onto the image gets a light box behind its text, to stay readable.
void drawFigureCaption(QPainter& painter, const QRectF& area, const QString& text, double unit,
                       bool backdrop = false);

// The whole image's thumbnail in `area`, the figure's region outlined on it.
void drawFigureOverview(QPainter& painter, const QRectF& area, const QImage& thumbnail,
                        const RectF& region, double imageWidth, double imageHeight, double unit);

// The height text of `unit` wrapped to `width` takes.
double captionHeight(const QString& text, double width, double unit);

}  // namespace lucida::ui
