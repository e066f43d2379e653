#pragma once
// What the Check This Map dialog checks: the whole image (as `lucida-cli check` reads it), the
// analysis patch under the cursor, or the bounds of the selected annotation; and the model input
// made from it (on a worker thread: it decodes).

#include "image/ImageSource.h"
#include "model/FloatTensor.h"
#include "model/ModelSpec.h"

#include <QPointF>
#include <QString>

#include <memory>
#include <optional>
#include <vector>

namespace lucida::ui {

class SlideView;

struct MapCheckTarget {
    enum class Kind { WholeImage, Patch, Region };
    Kind kind = Kind::WholeImage;
    QString label;                      // what the user reads in the dialog
    double x = 0, y = 0, w = 0, h = 0;  // level-0 rectangle (not used for the whole image)
};

// Keeps, for `view`, the last cursor position inside the image (call once per view).
void trackCursor(SlideView* view);
std::optional<QPointF> lastCursor(const SlideView* view);

// The targets `view` offers now: the whole image; the patch under the last cursor position (the
// patch of the analysis grid at the model's scale, as the heat is made); the bounds of the first
// selected annotation. Patch sizes come from `spec`; a patch that cannot be planned is left out.
std::vector<MapCheckTarget> mapCheckTargets(const SlideView* view, const ModelSpec& spec);

// The target as the model sees it, [1, 3, H, W]: the whole image as readWholeImage reads it, or
// the rectangle read at the coarsest level that still has the model's input size and resized.
// Throws (ImageError, std::invalid_argument) naming the image and the reason, e.g. a region too
// large to read at any level.
FloatTensor mapCheckInput(const ImageSource& source, const ModelSpec& spec,
                          const MapCheckTarget& target, int slice, const Window& window);

}  // namespace lucida::ui
