#pragma once
// Analysis ▸ Check This Map…: "can this heatmap be trusted?" for the whole image, the analysis
// patch under the cursor or the selected annotation's bounds. Runs core/checks/MapCheck on a
// worker (MapCheckRun) with progress and cancel, plots the randomisation cascade and the
// deletion/insertion curves, says the verdicts in words and exports the numbers as
// `lucida-cli check` writes them (JSON and two CSVs).

#include "MapCheckTarget.h"
#include "checks/MapCheck.h"

#include <QDialog>

#include <memory>
#include <vector>

class QComboBox;
class QLabel;
class QProgressBar;
class QPushButton;
class QSpinBox;

namespace lucida {
class Model;
}

namespace lucida::ui {

class FaithfulnessChart;
class MapCheckRun;
class RandomisationChart;
class SlideView;

class MapCheckDialog : public QDialog {
    Q_OBJECT
public:
    // `method`/`classIndex`: what the analysis shows (classIndex -1: the model's last class).
    MapCheckDialog(std::shared_ptr<const Model> model, const SlideView* view, const QString& method,
                   int classIndex, QWidget* parent = nullptr);
    ~MapCheckDialog() override;

    void run();
    void cancel();
    bool isRunning() const;
    // The last finished check (null: none yet, or the settings changed since).
    const MapCheckResult* result() const { return hasResult_ ? &result_ : nullptr; }
    // NAME.check.json, NAME.randomisation.csv and NAME.faithfulness.csv for `jsonPath` =
    // NAME.check.json (atomically); empty on success, else the reason.
    QString exportTo(const QString& jsonPath) const;

    RandomisationChart* randomisationChart() const { return randomisationChart_; }
    FaithfulnessChart* faithfulnessChart() const { return faithfulnessChart_; }

protected:
    void closeEvent(QCloseEvent* event) override;
    void reject() override;

private:
    QWidget* makeSettings();
    void showResult();
    void setRunning(bool running);
    void chooseExport();
    void saveSettings() const;
    QString imageLabel() const;  // the image path, with the target's rectangle

    std::shared_ptr<const Model> model_;
    std::shared_ptr<const ImageSource> source_;
    int slice_ = 0;
    Window window_;
    std::vector<MapCheckTarget> targets_;
    MapCheckRun* run_;
    MapCheckResult result_;
    bool hasResult_ = false;
    MapCheckTarget checked_;  // the target of result_

    QComboBox *target_, *method_, *class_, *removal_;
    QSpinBox *steps_, *stages_;
    QPushButton *runButton_, *cancelButton_, *exportButton_;
    QProgressBar* progress_;
    QLabel *status_, *verdict_, *faithfulnessVerdict_;
    RandomisationChart* randomisationChart_;
    FaithfulnessChart* faithfulnessChart_;
};

// Opens the dialog for `view` (window-modal, deleted when closed); says why not when there is no
// image or no model.
void openMapCheckDialog(QWidget* parent, const SlideView* view, std::shared_ptr<const Model> model,
                        const QString& method, int classIndex);

}  // namespace lucida::ui
