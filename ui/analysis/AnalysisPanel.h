#pragma once

#include "ModelSession.h"
#include "analysis/AnalysisOutputs.h"
#include "cam/CamMaps.h"

#include <QPointer>
#include <QWidget>

#include <vector>

class QCheckBox;
class QComboBox;
class QLabel;
class QListWidget;
class QProgressBar;
class QPushButton;
class QSlider;
class QToolButton;

namespace lucida::ui {

class AnalysisController;
class ImageSettingsNote;
class ModelSession;

// The legend: the colour map as a bar with its value scale (0…1; for the CAM also the raw range
// the slide-wide scale maps to 0…1), values below the threshold greyed.
class ColourBar : public QWidget {
    Q_OBJECT
public:
    explicit ColourBar(QWidget* parent = nullptr);
    void setColourMap(ColourMap colours);
    // Raw range for the CAM (shown when `showRaw`), and the threshold.
    void setScale(const QString& title, bool showRaw, float rawLow, float rawHigh);
    void setNote(const QString& note);  // after the raw range, e.g. values outside the scale
    void setThreshold(double threshold);
    QString title() const { return title_; }
    QString rawRangeText() const;  // empty when not shown
    QSize sizeHint() const override;

protected:
    void paintEvent(QPaintEvent*) override;

private:
    QImage bar_;
    QString title_;
    bool showRaw_ = false;
    float rawLow_ = 0, rawHigh_ = 1;
    QString note_;
    double threshold_ = 0;
};

// Patch probabilities of the explained class in 20 bins over [0, 1], with the 0.5 line.
class AnalysisHistogram : public QWidget {
    Q_OBJECT
public:
    explicit AnalysisHistogram(QWidget* parent = nullptr);
    void setBins(std::vector<int> bins);
    const std::vector<int>& bins() const { return bins_; }
    QSize sizeHint() const override;

protected:
    void paintEvent(QPaintEvent*) override;

private:
    std::vector<int> bins_;
};

// The "Analysis" dock: model, method and class, what is shown and how, the run with its progress,
// the legend and the slide's summary with its top regions. The model and every setting are the
// ModelSession's: the panel edits them there and shows what the session holds (every document's
// controller follows the same session). Runs and progress are the current document's controller's.
class AnalysisPanel : public QWidget {
    Q_OBJECT
public:
    explicit AnalysisPanel(ModelSession* session, QWidget* parent = nullptr);

    void setController(AnalysisController* controller);  // the current document's; null: none
    AnalysisController* controller() const { return controller_; }
    ModelSession* session() const { return session_; }

    QString selectedModelPath() const;  // the model picked in the box (the open or a recent one)

    QComboBox* modelCombo() const { return modelCombo_; }
    QComboBox* methodCombo() const { return methodCombo_; }
    QComboBox* classCombo() const { return classCombo_; }
    QComboBox* fitCombo() const { return fitCombo_; }
    QComboBox* overlapCombo() const { return overlapCombo_; }
    QComboBox* modeCombo() const { return modeCombo_; }            // seamless (dense) or per patch
    QComboBox* precisionCombo() const { return precisionCombo_; }  // fp32 or int8 (data: int8)
    QComboBox* layerCombo() const { return layerCombo_; }
    QComboBox* normalisationCombo() const { return normalisationCombo_; }
    QComboBox* colourMapCombo() const { return colourMapCombo_; }
    QSlider* opacitySlider() const { return opacitySlider_; }
    QSlider* thresholdSlider() const { return thresholdSlider_; }
    QPushButton* analyseButton() const { return analyseButton_; }
    QPushButton* cancelButton() const { return cancelButton_; }
    QProgressBar* progressBar() const { return progressBar_; }
    QLabel* progressLabel() const { return progressLabel_; }
    QLabel* scoreLabel() const { return scoreLabel_; }
    QLabel* shareLabel() const { return shareLabel_; }
    AnalysisHistogram* histogram() const { return histogram_; }
    ColourBar* colourBar() const { return colourBar_; }
    QListWidget* regionList() const { return regionList_; }
    QLabel* heatInsideLabel() const { return heatInsideLabel_; }
    // "Project settings for this image: …" with Edit… (a project image with its own settings).
    ImageSettingsNote* imageSettingsNote() const { return imageNote_; }
    // The last "heat inside annotations" answer for the current image (empty: none yet).
    void showHeatInside(const QString& text);

signals:
    void openModelRequested();
    void describeModelRequested();  // edit the open model's sidecar
    void modelChosen(const QString& path);
    void analyseRequested();
    void regionsFromHeatRequested();    // the shown heat above a threshold, as annotations
    void heatInsideRequested();         // the heat's energy inside a class's areas
    void imageSettingsEditRequested();  // the current image's project settings (ui/cohort)
    // Level-0 bounds of a top region; `closer`: Shift held, zoom up to twice the scan's scale.
    void regionActivated(const QRectF& region, bool closer);

private:
    QWidget* buildModelBox(QWidget* parent);
    QWidget* buildRunBox(QWidget* parent);
    QWidget* buildDisplayBox(QWidget* parent);
    QWidget* buildSummaryBox(QWidget* parent);
    void connectWidgets();
    void showModel();             // the session's model: loading, loaded or failed
    void showRecentModels();      // the picker's list
    void showAnalysisSettings();  // method, class, fit, overlap, mode, precision
    void showDisplay();           // layer, CAM scale, colours, opacity, threshold; the legend
    void updateClasses();
    void showImageSettings();  // a project image's own (ImageSettingsNote); Precision's state
    void updateState();
    void updateProgress();
    void updateResults();
    void updateLegend();
    // The session's display settings, as the legend shows them.
    CamNormalisation normalisation() const;
    ShownHeat layer() const;
    ColourMap colourMap() const;
    double threshold() const;

    ModelSession* session_;
    QPointer<AnalysisController> controller_;
    QList<QMetaObject::Connection> connections_;

    QComboBox* modelCombo_;
    QToolButton* openModelButton_;
    QToolButton* describeButton_;
    QLabel* modelLabel_;
    QComboBox* methodCombo_;
    QCheckBox *eigenSmoothBox_, *flipSmoothBox_;
    QComboBox* classCombo_;
    QComboBox* fitCombo_ = nullptr;
    QComboBox* overlapCombo_ = nullptr;
    QComboBox* modeCombo_ = nullptr;
    QComboBox* precisionCombo_ = nullptr;
    ImageSettingsNote* imageNote_ = nullptr;
    QComboBox* layerCombo_;
    QComboBox* normalisationCombo_;
    QComboBox* colourMapCombo_;
    QSlider* opacitySlider_;
    QLabel* opacityValue_;
    QSlider* thresholdSlider_;
    QLabel* thresholdValue_;
    QPushButton* analyseButton_;
    QPushButton* cancelButton_;
    QProgressBar* progressBar_;
    QLabel* progressLabel_;
    ColourBar* colourBar_;
    QToolButton* rescaleButton_;
    QLabel* scoreLabel_;
    QLabel* shareLabel_;
    AnalysisHistogram* histogram_;
    QLabel* heatInsideLabel_ = nullptr;
    QListWidget* regionList_;
};

}  // namespace lucida::ui
