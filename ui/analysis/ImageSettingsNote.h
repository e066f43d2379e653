#pragma once

#include <QString>
#include <QWidget>

#include <array>
#include <vector>

class QComboBox;
class QLabel;
class QToolButton;

namespace lucida::ui {

class AnalysisController;

// The Analysis panel's line for an image of a project with its own settings
// (AnalysisController::imageSettings, core/cohort/ImageSettings.h): "Project settings for this
// image: overlap 0.5, cam" with Edit…, and the panel's controls those settings override showing
// the image's values, disabled, with a tooltip saying why. Hidden for other images, whose
// controls show (and edit) the window's session again.
class ImageSettingsNote : public QWidget {
    Q_OBJECT
public:
    // The panel's controls of what is analysed (their data: the session's values).
    struct Controls {
        QComboBox *method, *classes, *fit, *overlap, *mode, *precision;
    };
    explicit ImageSettingsNote(Controls controls, QWidget* parent = nullptr);

    // Shows the image settings of `controller` (the current view's; null: none) in the line and
    // the controls; the panel calls it after it has shown the session's values in them.
    void apply(AnalysisController* controller);
    QLabel* label() const { return label_; }
    QToolButton* editButton() const { return edit_; }

signals:
    void editRequested();  // Edit…: the current image's project settings

private:
    // Control `which` (in the order of Controls) shows `index` (when found), disabled with `why`;
    // or, not overridden, what the panel put there, enabled with its own tooltip.
    void override(int which, bool overridden, int index, const QString& why);
    std::array<QComboBox*, 6> all() const;  // the controls, in the order of Controls

    Controls controls_;
    std::vector<QString> tooltips_;  // the controls' own, in the order of Controls
    QLabel* label_;
    QToolButton* edit_;
};

}  // namespace lucida::ui
