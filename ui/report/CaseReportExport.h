#pragma once
// File ▸ Export Report…: asks where (and whether to include the patient details of a DICOM
// image), then writes the case report of the view's stored analysis on a worker thread, with a
// progress dialog that can cancel it. LibTorch builds only (the analysis comes from its
// AnalysisController; ModelToolsTorch calls this).

#include "annotations/Annotation.h"

#include <optional>

class QWidget;

namespace lucida::ui {

class AnalysisController;
class SlideView;

void exportCaseReport(QWidget* parent, SlideView* view, AnalysisController* controller,
                      std::optional<AnnotationSet> annotations);

}  // namespace lucida::ui
