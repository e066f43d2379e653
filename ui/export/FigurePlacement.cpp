#include "FigurePlacement.h"

#include <QSettings>
#include <QStringList>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace lucida::ui {

namespace {

QString settingsKey(FigureItem item) {
    return QStringLiteral("figure/place/") + figureItemKey(item);
}

std::optional<QPointF> parseFraction(const QString& text) {
    const QStringList xy = text.split(QLatin1Char(','));
    if (xy.size() != 2) return std::nullopt;
    bool okX = false, okY = false;
    const double x = xy[0].trimmed().toDouble(&okX), y = xy[1].trimmed().toDouble(&okY);
    if (!okX || !okY || !(x >= 0 && x <= 1) || !(y >= 0 && y <= 1)) return std::nullopt;
    return QPointF(x, y);
}

}  // namespace

QString figureItemKey(FigureItem item) {
    switch (item) {
        case FigureItem::Caption:
            return QStringLiteral("caption");
        case FigureItem::ScaleBar:
            return QStringLiteral("scaleBar");
        case FigureItem::ColourBar:
            return QStringLiteral("colourBar");
        case FigureItem::Overview:
            return QStringLiteral("overview");
    }
    return {};
}

std::optional<FigureItem> figureItemOfKey(const QString& key) {
    for (FigureItem item : kFigureItems)
        if (figureItemKey(item).compare(key, Qt::CaseInsensitive) == 0) return item;
    return std::nullopt;
}

bool FigurePlacement::empty() const {
    return std::none_of(at.begin(), at.end(), [](const auto& p) { return p.has_value(); });
}

QRectF placedBox(const QRectF& box, QPointF fraction, QSize figure) {
    const double maxX = std::max(0.0, figure.width() - box.width());
    const double maxY = std::max(0.0, figure.height() - box.height());
    const double x = std::clamp(std::round(fraction.x() * figure.width()), 0.0, std::floor(maxX));
    const double y = std::clamp(std::round(fraction.y() * figure.height()), 0.0, std::floor(maxY));
    return QRectF(QPointF(x, y), box.size());
}

QPointF placementFraction(QPointF topLeft, QSize figure) {
    // To a millionth (0.02 px at the largest figure): figurePlaceText writes it exactly.
    auto fraction = [](double at, int size) {
        return std::round(std::clamp(at / std::max(1, size), 0.0, 1.0) * 1e6) / 1e6;
    };
    return QPointF(fraction(topLeft.x(), figure.width()), fraction(topLeft.y(), figure.height()));
}

void parseFigurePlace(const QString& text, FigurePlacement& placement) {
    const qsizetype eq = text.indexOf(QLatin1Char('='));
    const std::optional<FigureItem> item = figureItemOfKey(text.left(eq).trimmed());
    const std::optional<QPointF> at = eq < 0 ? std::nullopt : parseFraction(text.mid(eq + 1));
    if (eq < 0 || !item || !at)
        throw std::invalid_argument(
            "--place must be ITEM=x,y with ITEM caption, scaleBar, colourBar or overview and x, y "
            "fractions of the figure in 0..1, not '" +
            text.toStdString() + "'");
    placement[*item] = *at;
}

QString figurePlaceText(QPointF fraction) {
    auto number = [](double v) {
        QString text = QString::number(v, 'f', 6);
        while (text.endsWith(QLatin1Char('0'))) text.chop(1);
        if (text.endsWith(QLatin1Char('.'))) text.chop(1);
        return text;
    };
    return number(fraction.x()) + QLatin1Char(',') + number(fraction.y());
}

FigurePlacement readFigurePlacement(const QSettings& settings) {
    FigurePlacement placement;
    for (FigureItem item : kFigureItems)
        placement[item] = parseFraction(settings.value(settingsKey(item)).toString());
    return placement;
}

void writeFigurePlacement(QSettings& settings, const FigurePlacement& placement) {
    for (FigureItem item : kFigureItems) {
        if (placement[item])
            settings.setValue(settingsKey(item), figurePlaceText(*placement[item]));
        else
            settings.remove(settingsKey(item));
    }
}

}  // namespace lucida::ui
