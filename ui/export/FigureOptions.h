#pragma once
// What a figure shows and how big it is: the choices of File ▸ Export Figure… and `lucida-cli
// figure`, plain values (no widgets), so the dialog, the CLI and the tests share them.

#include "FigurePlacement.h"
#include "tiles/ViewGeometry.h"

#include <QString>
#include <QStringList>

#include <optional>

namespace lucida::ui {

class Layer;

enum class FigureFormat { Png, Tiff, Jpeg, Svg, Pdf };

// By the file name's extension (.png, .tif/.tiff, .jpg/.jpeg, .svg, .pdf); none for others.
std::optional<FigureFormat> figureFormatFor(const QString& path);

// Millimetres at `dpi` as whole output pixels.
int pixelsForMillimetres(double millimetres, int dpi);

// One panel of a figure: the slide alone or with the heat, and its label (shown when a figure has
// more than one panel). A comparison of methods or classes gives each panel its own heat layer.
struct FigurePanel {
    bool heat = true;
    QString label;
    Layer* heatLayer = nullptr;  // not owned; null: the figure's heat (FigureSources::heat)
};

struct FigureOptions {
    RectF region;        // level-0 pixels
    int widthPx = 1200;  // the whole figure's width
    int dpi = 300;       // recorded in the file; fixes the physical size
    std::vector<FigurePanel> panels{FigurePanel{}};

    bool annotations = true;    // outlines, filled areas and their labels
    bool measurements = false;  // areas and lengths beside the labels (AnnotationMeasure)
    bool scaleBar = true;
    bool colourBar = true;  // when a panel shows heat
    bool caption = true;
    bool overview = false;   // a thumbnail of the whole image with the region marked
    QString captionText;     // as the user edited it
    QString colourBarLabel;  // e.g. "Grad-CAM · tumour · slide-wide scale"
    QString colourBarLow = QStringLiteral("0"), colourBarHigh = QStringLiteral("1");
    // Adds the DICOM patient's name, ID and birth date to the caption: never by default.
    bool includePatientDetails = false;
    int jpegQuality = 92;
    FigurePlacement placement;  // items the user moved; the others where the layout puts them
};

}  // namespace lucida::ui
