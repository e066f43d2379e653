#pragma once
// Where the movable items of a figure go when the user has moved them: each item's top-left corner
// as a fraction of the figure's width and height, so a place survives a change of size or DPI.
// No place: the renderer's default (below the panels, the scale bar in the first panel's corner).
// Shared by the export dialog's preview (drag), QSettings ("figure/place/<item>") and
// `lucida-cli figure --place item=x,y`, so every writer draws an item in the same place.

#include <QPointF>
#include <QRectF>
#include <QSize>
#include <QString>

#include <array>
#include <optional>

class QSettings;

namespace lucida::ui {

enum class FigureItem { Caption, ScaleBar, ColourBar, Overview };
inline constexpr std::array<FigureItem, 4> kFigureItems{
    FigureItem::Caption, FigureItem::ScaleBar, FigureItem::ColourBar, FigureItem::Overview};

// "caption", "scaleBar", "colourBar", "overview": the key in settings and on the command line.
QString figureItemKey(FigureItem item);
std::optional<FigureItem> figureItemOfKey(const QString& key);

struct FigurePlacement {
    std::array<std::optional<QPointF>, kFigureItems.size()> at;

    std::optional<QPointF>& operator[](FigureItem item) { return at[std::size_t(item)]; }
    const std::optional<QPointF>& operator[](FigureItem item) const {
        return at[std::size_t(item)];
    }
    bool empty() const;
};

// `box` moved so its top-left is `fraction` of `figure`, on whole pixels, then clamped so the
// whole box stays inside the figure.
QRectF placedBox(const QRectF& box, QPointF fraction, QSize figure);
// The fraction that places `topLeft` (figure pixels) there, to a millionth.
QPointF placementFraction(QPointF topLeft, QSize figure);

// Reads "item=x,y" (x, y fractions in 0..1) into `placement`; throws std::invalid_argument.
void parseFigurePlace(const QString& text, FigurePlacement& placement);
QString figurePlaceText(QPointF fraction);  // "x,y" to 6 decimals, as settings and --place take

FigurePlacement readFigurePlacement(const QSettings& settings);
void writeFigurePlacement(QSettings& settings, const FigurePlacement& placement);

}  // namespace lucida::ui
