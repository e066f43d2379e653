#include "BookmarkViewState.h"

#include "HeatmapOverlay.h"
#include "ModelSession.h"
#include "SlideView.h"

#include <QAction>
#include <QWidget>

namespace lucida::ui {

namespace {
// The window's heat actions (ModelToolsTorch names them); null in a build without models.
QAction* heatAction(const QWidget* window, const char* name) {
    return window ? window->findChild<QAction*>(name) : nullptr;
}
}  // namespace

Bookmark captureBookmark(const SlideView& view, const ModelSession* session,
                         const QWidget* window) {
    Bookmark b;
    const ViewGeometry& g = view.viewGeometry();
    b.centreX = g.centreX;
    b.centreY = g.centreY;
    b.scale = g.scale;
    b.quarterTurns = g.quarterTurns;
    b.slice = view.document()->slice();
    if (view.document()->isGray())
        b.window =
            BookmarkWindow{view.document()->window().centre, view.document()->window().width};
    if (session) {
        BookmarkHeat h;
        const auto* overlay = dynamic_cast<const HeatmapOverlay*>(view.overlay());
        const QAction* heat = heatAction(window, "showHeatmapAction");
        const QAction* outline = heatAction(window, "showTissueOutlineAction");
        h.shown = heat ? heat->isChecked() : (overlay && overlay->heatmapVisible());
        h.outlineShown = outline ? outline->isChecked() : (overlay && overlay->outlineVisible());
        h.layer = session->layer() == ShownHeat::Probability ? "probability" : "cam";
        h.method = session->method().toStdString();
        h.classIndex = session->classIndex();
        h.colourMap = colourMapName(session->colourMap()).toStdString();
        h.normalisation = session->normalisation() == CamNormalisation::Patch ? "patch" : "slide";
        h.opacity = session->opacity();
        h.threshold = session->threshold();
        b.heat = h;
    }
    return b;
}

void applyBookmarkSettings(const Bookmark& b, SlideView& view, ModelSession* session,
                           QWidget* window) {
    ImageDocument* document = view.document();
    if (b.slice < document->info().sliceCount) document->setSlice(b.slice);
    if (b.window && document->isGray()) document->setWindow(b.window->centre, b.window->width);
    for (int turns = 0; turns < 4 && view.viewGeometry().quarterTurns != b.quarterTurns; ++turns)
        view.rotateClockwise();
    if (!session || !b.heat) return;
    const BookmarkHeat& h = *b.heat;
    if (!h.method.empty()) session->setMethod(QString::fromStdString(h.method));
    session->setClassIndex(h.classIndex);
    session->setLayer(h.layer == "probability" ? ShownHeat::Probability : ShownHeat::Cam);
    session->setNormalisation(h.normalisation == "patch" ? CamNormalisation::Patch
                                                         : CamNormalisation::Slide);
    try {
        session->setColourMap(colourMapFromName(h.colourMap));
    } catch (const std::invalid_argument&) {
        // the reader checked it; a name from a newer Lucida keeps the current colours
    }
    session->setOpacity(h.opacity);
    session->setThreshold(h.threshold);
    if (QAction* heat = heatAction(window, "showHeatmapAction")) heat->setChecked(h.shown);
    if (QAction* outline = heatAction(window, "showTissueOutlineAction"))
        outline->setChecked(h.outlineShown);
}

void applyBookmarkGeometry(const Bookmark& b, SlideView& view) {
    view.setScale(b.scale);
    view.setCentre(b.centreX, b.centreY);
}

}  // namespace lucida::ui
