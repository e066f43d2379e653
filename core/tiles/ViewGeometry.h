#pragma once

namespace lucida {

struct PointF {
    double x = 0;
    double y = 0;
};

struct RectF {
    double x = 0;
    double y = 0;
    double width = 0;
    double height = 0;
};

// Where the view looks: the level-0 point at the centre of the widget, the zoom (screen pixels per
// level-0 pixel) and a rotation in quarter turns clockwise. Pure math, shared by the viewer, the
// overview and the tile planner, and tested without a screen.
struct ViewGeometry {
    double centreX = 0;
    double centreY = 0;
    double scale = 1.0;
    int quarterTurns = 0;  // 0..3
    int viewWidth = 1;
    int viewHeight = 1;

    PointF toScreen(PointF image) const;
    PointF toImage(PointF screen) const;
    RectF visibleImageRect() const;  // bounding box of the viewport in level-0 pixels

    // Zooms by `factor`, keeping the image point under `screenAnchor` where it is.
    void zoomAt(PointF screenAnchor, double factor);
    void panByScreen(double dx, double dy);  // the image follows the mouse
    void rotateClockwise();
    // Fits a w x h image (level 0) into the view, centred.
    void fit(double imageWidth, double imageHeight);
    // Keeps the centre inside the image so it cannot be lost off-screen.
    void clampCentre(double imageWidth, double imageHeight);
};

// A round length (1, 2 or 5 times a power of ten) whose bar is at most `maxPixels` long, for a
// scale bar: returns the length in the same unit as unitsPerPixel.
double niceScaleLength(double unitsPerPixel, double maxPixels);

}  // namespace lucida
