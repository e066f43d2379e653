#pragma once
// Whether the viewer paints a DICOM image's patient name, ID and birth date in its corner
// (View ▸ Patient Details). Off by default: any screenshot of a view would otherwise carry them.

class QAction;
class QWidget;

namespace lucida::ui {

bool savedPatientDetailsShown();  // the setting "viewer/showPatientDetails" (default: no)
void savePatientDetailsShown(bool shown);

// View ▸ Patient Details of `window`: checkable, from the setting; toggling it saves the setting
// and applies it to every SlideView in the window ("patientDetailsAction").
QAction* createPatientDetailsAction(QWidget* window);

}  // namespace lucida::ui
