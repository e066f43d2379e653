#pragma once
// File ▸ Export Figure…: what region (the view, the selected annotation plus a margin, the whole
// image), how big (pixels, or millimetres at 150/300/600 DPI), what is on it, the caption, and
// where to (a file, whose extension picks the format, or the clipboard). Choices persist in
// QSettings under "figure/".

#include "FigureRenderer.h"

#include <QDialog>

#include <optional>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QPlainTextEdit;
class QSpinBox;

namespace lucida::ui {

// What the window knows when it opens the dialog.
struct FigureContext {
    FigureSources sources;
    RectF view;                      // level-0 rectangle on screen
    std::optional<RectF> selection;  // bounds of the selected annotations
    QString defaultCaption;
    QString colourBarLabel;
    bool dicom = false;  // offer "include patient details"
};

class ExportFigureDialog : public QDialog {
    Q_OBJECT
public:
    ExportFigureDialog(FigureContext context, QWidget* parent = nullptr);

    FigureOptions options() const;
    // Writes the figure to `path` (format by extension); empty on success, else why not.
    QString exportTo(const QString& path);
    void copyToClipboard();

private:
    void saveSettings() const;
    void updateSize();
    void chooseFile();

    FigureContext context_;
    QComboBox* region_;
    QComboBox* sizeUnit_;
    QSpinBox* widthPx_;
    QDoubleSpinBox* widthMm_;
    QComboBox* dpi_;
    QComboBox* layout_;
    QCheckBox *heat_, *annotations_, *scaleBar_, *colourBar_, *caption_, *overview_, *patient_;
    QPlainTextEdit* captionText_;
    QLabel* sizeLabel_;
};

}  // namespace lucida::ui
