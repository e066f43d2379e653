#pragma once

class QComboBox;
class QWidget;

namespace lucida {

// The Analysis panel's combo boxes for how an image is cut and run — their items (with the
// settings' values as item data), object names and tooltips: input fit (ImageFit), overlap
// (fraction), mode (AnalysisMode) and precision (true: int8).
QComboBox* makeFitCombo(QWidget* parent);
QComboBox* makeOverlapCombo(QWidget* parent);
QComboBox* makeModeCombo(QWidget* parent);
QComboBox* makePrecisionCombo(QWidget* parent);

}  // namespace lucida
