#pragma once

// Project ▸ Image Settings…: one image's (or several's) own settings over the window's — pixel
// size, mode, precision, overlap, fit, method, class, layer, minimum tissue, excluded. Each field
// has a "window's" choice that leaves it to the window; the dialog edits, ProjectDock saves.

#include "cohort/ImageSettings.h"

#include <QDialog>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLineEdit;

namespace lucida::ui {

class ImageSettingsDialog : public QDialog {
    Q_OBJECT
public:
    // `images`: what the title names ("slide-1.tiff", "3 images").
    ImageSettingsDialog(const ImageSettings& initial, const QString& images,
                        QWidget* parent = nullptr);
    ImageSettings settings() const;

private:
    QDoubleSpinBox *pixelSize_, *overlap_, *minTissue_;
    QComboBox *mode_, *precision_, *fit_, *method_;
    QLineEdit *class_, *layer_;
    QCheckBox* excluded_;
};

}  // namespace lucida::ui
