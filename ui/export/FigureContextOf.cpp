#include "FigureContextOf.h"

#include "AnnotationDocument.h"
#include "HeatmapOverlay.h"
#include "ModelSession.h"
#include "ResultsLocation.h"
#include "SlideView.h"
#include "ViewAnnotations.h"
#include "model/Model.h"

#include <QFileInfo>

#include <limits>

namespace lucida::ui {

namespace {

std::optional<RectF> selectionBounds(const AnnotationDocument& annotations) {
    if (annotations.selection().empty()) return std::nullopt;
    Bounds all{std::numeric_limits<double>::max(), std::numeric_limits<double>::max(),
               std::numeric_limits<double>::lowest(), std::numeric_limits<double>::lowest()};
    for (const Annotation& a : annotations.set().items) {
        if (!annotations.isSelected(a.id)) continue;
        const Bounds b = boundsOf(a.geometry);
        all = {std::min(all.x0, b.x0), std::min(all.y0, b.y0), std::max(all.x1, b.x1),
               std::max(all.y1, b.y1)};
    }
    if (all.empty()) return std::nullopt;
    return RectF{all.x0, all.y0, all.x1 - all.x0, all.y1 - all.y0};
}

// What a comparison of methods or classes runs with: the session's model and settings, the
// results folder the image's analysis uses (its stored patches are reused).
std::optional<ComparisonContext> comparisonContextOf(const SlideView& view,
                                                     const ModelSession& session,
                                                     const FigureSources& sources) {
    if (!session.model()) return std::nullopt;
    ComparisonContext c;
    c.source = view.document()->source();
    c.model = session.model();
    c.settings = session.analysisSettings();  // the image's stored analysis (same key) is reused
    c.settings.slice = view.document()->slice();
    c.settings.batchSize = 0;  // what fits the free memory
    c.resultsRoot = resultsRootFor(view.document()->path(), savedResultsPlace()).toStdString();
    c.classes = session.model()->spec().classes;
    c.colours = sources.heat ? sources.colours : session.colourMap();
    c.threshold = sources.heat ? sources.threshold : session.threshold();
    c.opacity = session.opacity();
    return c;
}

}  // namespace

FigureContext figureContextOf(SlideView* view, TileService* tiles, const ModelSession* session) {
    FigureContext c;
    c.sources.document = view->document();
    c.sources.tiles = tiles;
    c.view = view->viewGeometry().visibleImageRect();
    QString method, className;
    if (auto* overlay = dynamic_cast<HeatmapOverlay*>(view->overlay());
        overlay && !overlay->isEmpty() && overlay->heatmapVisible()) {
        c.sources.heat = overlay->layers().front();
        c.overlays.push_back(overlay);
        c.sources.colours = overlay->colourMap();
        c.sources.threshold = overlay->threshold();
        const bool cam = overlay->layer() == HeatmapOverlay::Layer::Cam;
        if (session) {
            method = session->method();
            if (const auto& model = session->model()) {
                const auto& classes = model->spec().classes;
                const int i =
                    session->classIndex() >= 0 ? session->classIndex() : int(classes.size()) - 1;
                if (i >= 0 && i < int(classes.size()))
                    className = QString::fromStdString(classes[std::size_t(i)]);
            }
        }
        QStringList label{cam ? method : QObject::tr("probability")};
        if (!className.isEmpty()) label << QObject::tr("class %1").arg(className);
        if (cam && session)
            label << (session->normalisation() == CamNormalisation::Slide
                          ? QObject::tr("slide-wide scale")
                          : QObject::tr("per-patch scale"));
        c.colourBarLabel = label.join(QStringLiteral(" · "));
    }
    if (auto* annotations = ViewAnnotations::of(view)) {
        c.sources.annotations = &annotations->document()->set();
        c.selection = selectionBounds(*annotations->document());
    }
    const QString model = session && session->model() ? session->path() : QString();
    c.defaultCaption = defaultFigureCaption(*view->document(), model, method, {}, className);
    if (session) c.comparison = comparisonContextOf(*view, *session, c.sources);
    c.dicom = view->document()->info().property("dicom.PatientName").has_value() ||
              view->document()->info().property("dicom.PatientID").has_value();
    return c;
}

ExportFigureDialog* openExportFigureDialog(QWidget* parent, SlideView* view, TileService* tiles,
                                           const ModelSession* session) {
    if (!view) return nullptr;
    auto* dialog = new ExportFigureDialog(figureContextOf(view, tiles, session), parent);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setWindowModality(Qt::WindowModal);
    dialog->open();
    return dialog;
}

}  // namespace lucida::ui
