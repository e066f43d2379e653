#pragma once

#include "HeatmapOverlay.h"
#include "analysis/AnalysisOutputs.h"
#include "cam/CamMaps.h"

#include <QPointer>
#include <QWidget>

#include <vector>

class QComboBox;
class QLabel;
class QListWidget;
class QProgressBar;
class QPushButton;
class QSlider;
class QToolButton;

namespace lucida {
class Model;
}

namespace lucida::ui {

class AnalysisController;

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
// the legend and the slide's summary with its top regions. Method, class and runs act on the
// current document's controller; the display settings hold for every document (applyDisplay) and
// persist, with the method, in QSettings.
class AnalysisPanel : public QWidget {
    Q_OBJECT
public:
    explicit AnalysisPanel(QWidget* parent = nullptr);

    void setController(AnalysisController* controller);  // the current document's; null: none
    AnalysisController* controller() const { return controller_; }

    // The model shown in the picker: loading (model null, no error), loaded, or failed.
    void setModelState(const QString& path, const Model* model, const QString& error = {});
    void setRecentModels(const QStringList& paths);
    QString selectedModelPath() const;

    QString method() const;
    ImageFit fit() const;
    double overlap() const;
    CamNormalisation normalisation() const;
    HeatmapOverlay::Layer layer() const;
    ColourMap colourMap() const;
    double opacity() const;    // 0..1
    double threshold() const;  // 0..1
    void applyDisplay(HeatmapOverlay* overlay) const;

    QComboBox* modelCombo() const { return modelCombo_; }
    QComboBox* methodCombo() const { return methodCombo_; }
    QComboBox* classCombo() const { return classCombo_; }
    QComboBox* fitCombo() const { return fitCombo_; }
    QComboBox* overlapCombo() const { return overlapCombo_; }
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

signals:
    void openModelRequested();
    void describeModelRequested();  // edit the open model's sidecar
    void modelChosen(const QString& path);
    void analyseRequested();
    void displayChanged();  // layer, colours, opacity, threshold, normalisation
    // Level-0 bounds of a top region; `closer`: Shift held, zoom up to twice the scan's scale.
    void regionActivated(const QRectF& region, bool closer);

private:
    void displayEdited();
    void updateClasses();
    void updateState();
    void updateProgress();
    void updateResults();
    void updateLegend();

    QPointer<AnalysisController> controller_;
    QList<QMetaObject::Connection> connections_;
    QStringList recentModels_;
    QString modelPath_;
    const Model* model_ = nullptr;

    QComboBox* modelCombo_;
    QToolButton* openModelButton_;
    QToolButton* describeButton_;
    QLabel* modelLabel_;
    QComboBox* methodCombo_;
    QComboBox* classCombo_;
    QComboBox* fitCombo_ = nullptr;
    QComboBox* overlapCombo_ = nullptr;
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
    QListWidget* regionList_;
};

}  // namespace lucida::ui
