#include "MapCheckTarget.h"

#include "AnnotationDocument.h"
#include "ImageDocument.h"
#include "SlideView.h"
#include "ViewAnnotations.h"
#include "analysis/PatchGrid.h"
#include "annotations/Annotation.h"
#include "model/Preprocess.h"
#include "tiles/TileGrid.h"

#include <QObject>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace lucida::ui {

namespace {

// Reading more than this many pixels for one check is refused: the user selects a smaller region.
constexpr double kMaxReadPixels = 8192.0 * 8192.0;

class CursorTrail : public QObject {
public:
    explicit CursorTrail(SlideView* view) : QObject(view) {
        setObjectName("mapCheckCursorTrail");
        connect(view, &SlideView::cursorMoved, this, [this](QPointF p, bool inside) {
            if (inside) last = p;
        });
    }
    std::optional<QPointF> last;
};

CursorTrail* trailOf(const SlideView* view) {
    return view ? view->findChild<CursorTrail*>("mapCheckCursorTrail", Qt::FindDirectChildrenOnly)
                : nullptr;
}

QString rectText(double x, double y, double w, double h) {
    return QObject::tr("%1 × %2 px at (%3, %4)")
        .arg(std::lround(w))
        .arg(std::lround(h))
        .arg(std::lround(x))
        .arg(std::lround(y));
}

std::optional<MapCheckTarget> patchUnderCursor(const SlideView* view, const ModelSpec& spec) {
    const auto cursor = lastCursor(view);
    if (!cursor) return std::nullopt;
    const ImageInfo& info = view->document()->info();
    PatchGridOptions o;
    o.inputSize = spec.inputWidth;
    o.micronsPerPixel = spec.micronsPerPixel;
    o.magnification = spec.magnification;
    if (!unmappableScale(info, o).empty()) o.micronsPerPixel.reset(), o.magnification.reset();
    try {
        const PatchGrid grid = planPatchGrid(info, o);
        const auto column =
            std::clamp(static_cast<int>(cursor->x() / grid.stride), 0, grid.columns - 1);
        const auto row = std::clamp(static_cast<int>(cursor->y() / grid.stride), 0, grid.rows - 1);
        MapCheckTarget t{MapCheckTarget::Kind::Patch,
                         {},
                         column * grid.stride,
                         row * grid.stride,
                         grid.patchSize,
                         grid.patchSize};
        t.label = QObject::tr("Patch under the cursor (%1)").arg(rectText(t.x, t.y, t.w, t.h));
        return t;
    } catch (const std::exception&) {
        return std::nullopt;  // no scale to cut patches at: the whole image is offered
    }
}

std::optional<MapCheckTarget> selectedRegion(const SlideView* view) {
    const ViewAnnotations* notes = ViewAnnotations::of(view);
    if (!notes || !notes->document() || notes->document()->selection().empty()) return std::nullopt;
    const AnnotationDocument* doc = notes->document();
    const auto index = doc->indexOf(*doc->selection().begin());
    if (!index) return std::nullopt;
    const Bounds b = boundsOf(doc->items()[*index].geometry);
    const ImageInfo& info = view->document()->info();
    const double x0 = std::clamp(b.x0, 0.0, double(info.width())),
                 y0 = std::clamp(b.y0, 0.0, double(info.height())),
                 x1 = std::clamp(b.x1, 0.0, double(info.width())),
                 y1 = std::clamp(b.y1, 0.0, double(info.height()));
    if (x1 - x0 < 1 || y1 - y0 < 1) return std::nullopt;  // a point, or outside the image
    MapCheckTarget t{MapCheckTarget::Kind::Region, {}, x0, y0, x1 - x0, y1 - y0};
    t.label = QObject::tr("Selected annotation's bounds (%1)").arg(rectText(x0, y0, t.w, t.h));
    return t;
}

}  // namespace

void trackCursor(SlideView* view) {
    if (view && !trailOf(view)) new CursorTrail(view);
}

std::optional<QPointF> lastCursor(const SlideView* view) {
    const CursorTrail* trail = trailOf(view);
    return trail ? trail->last : std::nullopt;
}

std::vector<MapCheckTarget> mapCheckTargets(const SlideView* view, const ModelSpec& spec) {
    std::vector<MapCheckTarget> targets;
    if (!view) return targets;
    targets.push_back({MapCheckTarget::Kind::WholeImage,
                       QObject::tr("Whole image (%1, as lucida-cli check reads it)")
                           .arg(view->document()->displayName())});
    if (auto patch = patchUnderCursor(view, spec)) targets.push_back(*patch);
    if (auto region = selectedRegion(view)) targets.push_back(*region);
    return targets;
}

FloatTensor mapCheckInput(const ImageSource& source, const ModelSpec& spec,
                          const MapCheckTarget& target, int slice, const Window& window) {
    if (target.kind == MapCheckTarget::Kind::WholeImage)
        return preprocess(readWholeImage(source, spec.inputWidth, spec.inputHeight, slice), spec);
    const ImageInfo& info = source.info();
    const double downsample =
        std::max(1.0, std::min(target.w / spec.inputWidth, target.h / spec.inputHeight));
    const int level = info.levels.size() > 1 ? bestLevelForDownsample(info.levels, downsample) : 0;
    const double d = info.level(level).downsample;
    const Rect rect{static_cast<std::int64_t>(std::floor(target.x / d)),
                    static_cast<std::int64_t>(std::floor(target.y / d)),
                    std::max<std::int64_t>(1, std::llround(target.w / d)),
                    std::max<std::int64_t>(1, std::llround(target.h / d))};
    if (double(rect.width) * double(rect.height) > kMaxReadPixels)
        throw std::invalid_argument(info.path + ": the region is " + std::to_string(rect.width) +
                                    " × " + std::to_string(rect.height) +
                                    " pixels at the image's nearest level; select a smaller one");
    const PixelBuffer pixels = source.readRegion(level, rect, slice);
    return preprocess(pixels, spec, &window, &info.grayMapping);
}

}  // namespace lucida::ui
