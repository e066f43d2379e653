#include "tiles/ViewGeometry.h"

#include <algorithm>
#include <cmath>

namespace lucida {

namespace {
// Rotate (x, y) by q quarter turns clockwise on screen (y points down).
PointF rotate(PointF p, int q) {
    switch (((q % 4) + 4) % 4) {
        case 1:
            return {-p.y, p.x};
        case 2:
            return {-p.x, -p.y};
        case 3:
            return {p.y, -p.x};
        default:
            return p;
    }
}
}  // namespace

PointF ViewGeometry::toScreen(PointF image) const {
    const PointF d =
        rotate({(image.x - centreX) * scale, (image.y - centreY) * scale}, quarterTurns);
    return {d.x + viewWidth / 2.0, d.y + viewHeight / 2.0};
}

PointF ViewGeometry::toImage(PointF screen) const {
    const PointF d =
        rotate({screen.x - viewWidth / 2.0, screen.y - viewHeight / 2.0}, -quarterTurns);
    return {centreX + d.x / scale, centreY + d.y / scale};
}

RectF ViewGeometry::visibleImageRect() const {
    const PointF corners[] = {toImage({0, 0}), toImage({double(viewWidth), 0}),
                              toImage({0, double(viewHeight)}),
                              toImage({double(viewWidth), double(viewHeight)})};
    double x0 = corners[0].x, x1 = x0, y0 = corners[0].y, y1 = y0;
    for (const PointF& c : corners) {
        x0 = std::min(x0, c.x);
        x1 = std::max(x1, c.x);
        y0 = std::min(y0, c.y);
        y1 = std::max(y1, c.y);
    }
    return {x0, y0, x1 - x0, y1 - y0};
}

void ViewGeometry::zoomAt(PointF anchor, double factor) {
    const PointF before = toImage(anchor);
    scale *= factor;
    const PointF after = toImage(anchor);
    centreX += before.x - after.x;
    centreY += before.y - after.y;
}

void ViewGeometry::panByScreen(double dx, double dy) {
    const PointF d = rotate({dx, dy}, -quarterTurns);
    centreX -= d.x / scale;
    centreY -= d.y / scale;
}

void ViewGeometry::rotateClockwise() { quarterTurns = (quarterTurns + 1) % 4; }

void ViewGeometry::fit(double w, double h) {
    const bool sideways = quarterTurns % 2 == 1;
    const double sw = sideways ? h : w;
    const double sh = sideways ? w : h;
    scale = std::min(viewWidth / std::max(sw, 1.0), viewHeight / std::max(sh, 1.0));
    centreX = w / 2.0;
    centreY = h / 2.0;
}

void ViewGeometry::clampCentre(double w, double h) {
    centreX = std::clamp(centreX, 0.0, w);
    centreY = std::clamp(centreY, 0.0, h);
}

double niceScaleLength(double unitsPerPixel, double maxPixels) {
    if (!(unitsPerPixel > 0) || !(maxPixels > 0)) return 0;
    const double maxLength = unitsPerPixel * maxPixels;
    const double power = std::pow(10.0, std::floor(std::log10(maxLength)));
    for (double m : {5.0, 2.0, 1.0})
        if (m * power <= maxLength) return m * power;
    return power;
}

}  // namespace lucida
