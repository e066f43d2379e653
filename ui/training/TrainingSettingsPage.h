#pragma once

#include "train/TrainOptions.h"

#include <QWizardPage>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QGroupBox;
class QLabel;
class QLineEdit;
class QSpinBox;

namespace lucida::ui {

// Page 3: how to train (epochs, batch, optimiser, schedule, augmentations, class weights, early
// stopping, seed) and where the model goes; optionally a checkpoint to resume from.
class TrainingSettingsPage : public QWizardPage {
    Q_OBJECT
public:
    explicit TrainingSettingsPage(QWidget* parent = nullptr);

    bool isComplete() const override;
    bool validatePage() override;

    QSpinBox* epochsBox() const { return epochs_; }
    QSpinBox* batchBox() const { return batch_; }
    QSpinBox* seedBox() const { return seed_; }
    QLineEdit* outputFolderEdit() const { return outDir_; }
    QLineEdit* modelNameEdit() const { return modelName_; }
    void setResumeFrom(const QString& checkpoint);
    QString errorText() const;

    void apply(TrainOptions& options) const;
    void saveSettings() const;

    // Outputs of an earlier run with the chosen name are replaced only once the user has said so
    // for that folder and name (on Next, or when a run starts: askAboutTakenName); apply() sets
    // TrainOptions::overwrite from it. A run that starts uses the answer up.
    bool isOverwriteConfirmed() const;
    void clearOverwriteConfirmation();
    // When outputs of the chosen name exist and replacing them was not confirmed: asks whether to
    // save under the next free name (the default: the name box changes to it), replace them, or
    // cancel. False: cancelled. True without asking when nothing would be replaced.
    bool askAboutTakenName();

private:
    // The page's parts, built in the constructor in this order.
    QGroupBox* makeOptimisationGroup();
    QGroupBox* makeAugmentationGroup();
    void restoreSettings();  // the last training's choices (QSettings "training/...")
    void updateState();
    QString chosenModelKey() const;  // folder and name, as the confirmation holds them

    QSpinBox* epochs_;
    QSpinBox* batch_;
    QComboBox* optimizer_;
    QDoubleSpinBox* learningRate_;
    QDoubleSpinBox* weightDecay_;
    QComboBox* schedule_;
    QSpinBox* stepEpochs_;
    QDoubleSpinBox* stepGamma_;
    QCheckBox* hflip_;
    QCheckBox* vflip_;
    QCheckBox* rotate_;
    QCheckBox* colour_;
    QDoubleSpinBox* brightness_;
    QDoubleSpinBox* contrast_;
    QDoubleSpinBox* saturation_;
    QDoubleSpinBox* hue_;
    QCheckBox* stain_;
    QDoubleSpinBox* stainSigma_;
    QDoubleSpinBox* stainBias_;
    QCheckBox* crop_;
    QDoubleSpinBox* cropMin_;
    QCheckBox* classWeights_;
    QSpinBox* patience_;
    QSpinBox* seed_;
    QLineEdit* outDir_;
    QLineEdit* modelName_;
    QLineEdit* resume_;
    QLabel* note_;
    QLabel* error_;
    QString confirmedOverwrite_;  // chosenModelKey() the user agreed to replace
};

}  // namespace lucida::ui
