#include "TrainingWizard.h"

#include "TrainingDataPage.h"
#include "TrainingFinishPage.h"
#include "TrainingModelPage.h"
#include "TrainingRunPage.h"
#include "TrainingSettingsPage.h"

#include <QApplication>
#include <QMessageBox>
#include <QSettings>
#include <QSpinBox>

namespace lucida::ui {

TrainingWizard::TrainingWizard(QWidget* parent) : QWizard(parent) {
    setWindowTitle(tr("Train a Model — Lucida"));
    setWizardStyle(QWizard::ClassicStyle);
    setOption(QWizard::NoBackButtonOnLastPage, false);
    setOption(QWizard::HaveHelpButton, false);
    setMinimumSize(900, 640);
    resize(1180, 860);

    data_ = new TrainingDataPage(this);
    model_ = new TrainingModelPage(data_, this);
    settings_ = new TrainingSettingsPage(this);
    run_ = new TrainingRunPage(
        data_, [this] { return options(); }, this);
    finish_ = new TrainingFinishPage(run_, this);
    setPage(DataPageId, data_);
    setPage(ModelPageId, model_);
    setPage(SettingsPageId, settings_);
    setPage(RunPageId, run_);
    setPage(FinishPageId, finish_);
    setStartId(DataPageId);

    // One seed for the split, the shuffling and the augmentations, shown on two pages.
    settings_->seedBox()->setValue(data_->seedBox()->value());
    connect(data_->seedBox(), &QSpinBox::valueChanged, settings_->seedBox(), &QSpinBox::setValue);
    connect(settings_->seedBox(), &QSpinBox::valueChanged, data_->seedBox(), &QSpinBox::setValue);

    // Never over an earlier run's model without asking (a second "Start" included).
    run_->setBeforeStart([this] { return settings_->askAboutTakenName(); });
    connect(run_, &TrainingRunPage::runningChanged, this, &TrainingWizard::runningChanged);
    connect(run_, &TrainingRunPage::stopped, this, [this] {
        if (closeWhenStopped_) {
            closeWhenStopped_ = false;
            QWizard::reject();
        }
    });
    connect(finish_, &TrainingFinishPage::openModelRequested, this, &TrainingWizard::modelTrained);

    restoreGeometry(QSettings().value("training/geometry").toByteArray());
}

TrainingWizard::~TrainingWizard() {
    // While every page is still whole: the run page's thread must be over before the pages go.
    closeWhenStopped_ = false;
    run_->cancelAndWait();
    saveSettings();
}

TrainOptions TrainingWizard::options() const {
    TrainOptions o;
    data_->apply(o);
    model_->apply(o);
    settings_->apply(o);
    return o;
}

bool TrainingWizard::isTraining() const { return run_->isRunning(); }

void TrainingWizard::saveSettings() const {
    data_->saveSettings();
    model_->saveSettings();
    settings_->saveSettings();
    QSettings().setValue("training/geometry", saveGeometry());
}

void TrainingWizard::runningChanged(bool running) {
    // No going back to change the options under a running training.
    if (running) {
        saveSettings();
        settings_->clearOverwriteConfirmation();  // the next run asks again
        setButtonLayout({QWizard::Stretch, QWizard::NextButton, QWizard::CancelButton});
    } else {
        setButtonLayout({QWizard::Stretch, QWizard::BackButton, QWizard::NextButton,
                         QWizard::CommitButton, QWizard::FinishButton, QWizard::CancelButton});
    }
    setButtonText(QWizard::CancelButton, running ? tr("Close…") : tr("Cancel"));
}

bool TrainingWizard::confirmCancel() {
    const auto answer = QMessageBox::question(
        this, tr("Training Is Running"),
        tr("Cancel the training? The best model so far is kept and a checkpoint is written, so "
           "the training can be resumed later."),
        QMessageBox::Yes | QMessageBox::No, QMessageBox::No);
    return answer == QMessageBox::Yes;
}

void TrainingWizard::reject() {
    if (!isTraining()) {
        QWizard::reject();
        return;
    }
    if (closeWhenStopped_ || !confirmCancel()) return;
    // Close once the thread is over (the current batch, then the checkpoint).
    closeWhenStopped_ = true;
    run_->cancel();
}

bool TrainingWizard::stopTrainingForQuit() {
    if (!isTraining()) return true;
    if (!closeWhenStopped_ && !confirmCancel()) return false;
    QApplication::setOverrideCursor(Qt::WaitCursor);
    run_->cancelAndWait();
    QApplication::restoreOverrideCursor();
    return true;
}

void TrainingWizard::done(int result) {
    saveSettings();
    QWizard::done(result);
}

}  // namespace lucida::ui
