#pragma once
// Comparison figures from the window: what it offers (the open model, the analysis settings, where
// results are kept) and the computation of the region's maps on a worker thread behind a progress
// dialog with Cancel — the GUI thread never runs the model.

#include "ComparisonPanels.h"
#include "analysis/SlideAnalysis.h"

#include <QString>

#include <memory>
#include <vector>

class QWidget;

namespace lucida::ui {

struct ComparisonContext {
    std::shared_ptr<const ImageSource> source;
    std::shared_ptr<const Model> model;
    AnalysisSettings settings;  // the session's: method and class are replaced per panel
    std::string resultsRoot;
    std::vector<std::string> classes;
    ColourMap colours = ColourMap::Jet;
    double opacity = 0.5, threshold = 0;
};

// The methods compared by the dialog's "Methods" choice, as papers show them.
std::vector<std::string> comparedMethods();
// The panels of a choice: "methods" (comparedMethods(), the session's class) or "classes" (every
// class, at most six, the session's method).
std::vector<RegionCamRequest> comparisonRequests(const ComparisonContext& context,
                                                 const QString& choice);

// Computes the region's maps on a worker; a modal progress dialog shows the patches done and
// can cancel. Null when cancelled (`error` empty) or failed (`error` says why).
std::unique_ptr<ComparisonPanels> runComparison(QWidget* parent, const ComparisonContext& context,
                                                const std::vector<RegionCamRequest>& requests,
                                                const RectF& region, QString* error);

}  // namespace lucida::ui
