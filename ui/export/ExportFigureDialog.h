#pragma once
// File ▸ Export Figure…: what region (the view, the selected annotation plus a margin, the whole
// image), how big (pixels, or millimetres at 150/300/600 DPI), what is on it, the caption, and
// where to (a file, whose extension picks the format, or the clipboard). Choices persist in
// QSettings under "figure/". The figure is rendered and written on a worker thread
// (FigureExportJob) behind a progress dialog that can cancel it; the GUI stays responsive.

#include "ComparisonRun.h"
#include "FigureRenderer.h"

#include <QDialog>

#include <optional>

class QCheckBox;
class QEventLoop;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QPlainTextEdit;
class QSpinBox;
class QTimer;

namespace lucida::ui {

class FigureExportJob;
class FigurePreview;
class HeatmapOverlay;

// What the window knows when it opens the dialog.
struct FigureContext {
    FigureSources sources;
    RectF view;                      // level-0 rectangle on screen
    std::optional<RectF> selection;  // bounds of the selected annotations
    QString defaultCaption;
    QString colourBarLabel;
    bool dicom = false;  // offer "include patient details"
    // The overlays whose heat layers the figure shows: copied for the export's worker thread.
    std::vector<HeatmapOverlay*> overlays;
    // With a model open: panels of the region under several methods or classes (ComparisonRun).
    std::optional<ComparisonContext> comparison;
};

class ExportFigureDialog : public QDialog {
    Q_OBJECT
public:
    ExportFigureDialog(FigureContext context, QWidget* parent = nullptr);
    ~ExportFigureDialog() override;

    FigureOptions options() const;
    // Writes the figure to `path` (format by extension) on a worker thread, showing its progress,
    // and returns when it is done (events are processed meanwhile): empty on success, else why
    // not. A cancelled export writes nothing; exportCancelled() then says so.
    QString exportTo(const QString& path);
    bool exportCancelled() const { return cancelled_; }
    // Renders on a worker the same way; the image goes to the clipboard. False when cancelled.
    bool copyToClipboard();
    // Where the user dragged items in the preview (kept in QSettings "figure/place/…").
    const FigurePlacement& placement() const { return placement_; }
    void resetPlacement();  // every item back where the layout puts it

private:
    void saveSettings() const;
    void updateSize();
    void chooseFile();
    // Runs `job` (already started) to its end behind a progress dialog; returns its error.
    QString runJob(FigureExportJob* job, const QString& format);

    FigureContext context_;
    QComboBox* region_;
    QComboBox* sizeUnit_;
    QSpinBox* widthPx_;
    QDoubleSpinBox* widthMm_;
    QComboBox* dpi_;
    QComboBox* layout_;
    QCheckBox *heat_, *annotations_, *scaleBar_, *colourBar_, *caption_, *overview_, *patient_;
    QCheckBox* measurements_;
    QPlainTextEdit* captionText_;
    QLabel* sizeLabel_;
    bool cancelled_ = false;
    // Comparison panels: computed for a choice and region on export, kept while they match.
    bool prepareComparison();
    std::vector<HeatmapOverlay*> figureOverlays() const;
    std::unique_ptr<ComparisonPanels> comparison_;
    QString comparisonChoice_;
    RectF comparisonRegion_;
    // The preview: rendered small on a worker (no parent: not the export's job) after a change.
    void renderPreview();
    void placeItem(FigureItem item, QPointF fraction);
    FigurePreview* preview_ = nullptr;
    QTimer* previewTimer_ = nullptr;
    std::unique_ptr<FigureExportJob> previewJob_;
    bool previewPending_ = false;  // options changed while the preview rendered
    FigurePlacement placement_;
};

}  // namespace lucida::ui
