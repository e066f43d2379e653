#pragma once
// What the Export Figure dialog needs from one view: its image and region, the heat as shown,
// the annotations and their selection, and a caption naming the model, method and class.

#include "ExportFigureDialog.h"

namespace lucida::ui {

class ModelSession;
class SlideView;

// `session` may be null (no model). The context points into the view: use it while the view is.
FigureContext figureContextOf(SlideView* view, TileService* tiles, const ModelSession* session);

// Opens the dialog (window-modal, deleted when closed) for `view`; nothing without a view.
ExportFigureDialog* openExportFigureDialog(QWidget* parent, SlideView* view, TileService* tiles,
                                           const ModelSession* session);

}  // namespace lucida::ui
