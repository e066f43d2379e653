#pragma once

#include "train/TrainOptions.h"

#include <QWizard>

namespace lucida::ui {

class TrainingDataPage;
class TrainingModelPage;
class TrainingSettingsPage;
class TrainingRunPage;
class TrainingFinishPage;

// Trains a classifier on an image folder: data, model, settings, run, finish. Everything slow
// (scanning, thumbnails, training) runs off the GUI thread. Closing while training asks to
// cancel and closes once the training thread is over; choices persist in QSettings ("training/").
class TrainingWizard : public QWizard {
    Q_OBJECT
public:
    enum PageId { DataPageId, ModelPageId, SettingsPageId, RunPageId, FinishPageId };

    explicit TrainingWizard(QWidget* parent = nullptr);
    ~TrainingWizard() override;  // cancels a running training and waits for it

    TrainOptions options() const;
    bool isTraining() const;

    // For quitting the application: asks whether to cancel a running training (false: keep
    // running), and if so cancels and waits until the thread is over.
    bool stopTrainingForQuit();

    TrainingDataPage* dataPage() const { return data_; }
    TrainingModelPage* modelPage() const { return model_; }
    TrainingSettingsPage* settingsPage() const { return settings_; }
    TrainingRunPage* runPage() const { return run_; }
    TrainingFinishPage* finishPage() const { return finish_; }

    void saveSettings() const;

public slots:
    void reject() override;
    void done(int result) override;

signals:
    void modelTrained(const QString& modelPath);  // "Open the model in the viewer"

private:
    bool confirmCancel();
    void runningChanged(bool running);

    TrainingDataPage* data_;
    TrainingModelPage* model_;
    TrainingSettingsPage* settings_;
    TrainingRunPage* run_;
    TrainingFinishPage* finish_;
    bool closeWhenStopped_ = false;
};

}  // namespace lucida::ui
