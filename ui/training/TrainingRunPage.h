#pragma once

#include "train/Trainer.h"

#include <QWizardPage>

#include <functional>
#include <memory>
#include <optional>

class QLabel;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QTableWidget;
class QThread;

namespace lucida::ui {

class CurveChart;
class RocChart;
class TrainingDataPage;
class TrainingWorker;

// Page 4: runs the training on a worker thread and shows it live: progress (epoch, batch,
// images/s, ETA), loss and accuracy curves, per-epoch validation metrics, the latest confusion
// matrix and ROC curve, and the trainer's messages. Pause/resume/cancel reach the trainer at once;
// a cancelled run keeps its best model and writes a checkpoint (the trainer does that).
class TrainingRunPage : public QWizardPage {
    Q_OBJECT
public:
    using OptionsProvider = std::function<TrainOptions()>;
    TrainingRunPage(const TrainingDataPage* data, OptionsProvider options,
                    QWidget* parent = nullptr);
    ~TrainingRunPage() override;  // cancels a running training and waits for its thread

    void initializePage() override;
    bool isComplete() const override;

    bool isRunning() const { return thread_ != nullptr; }
    bool isPaused() const { return paused_; }
    const std::optional<TrainResult>& result() const { return result_; }
    QString lastError() const { return lastError_; }

    // Cancels and blocks until the thread is over (for quitting the application).
    void cancelAndWait();
    // Asked before a run starts (whether the outputs may be written); false: it does not start.
    void setBeforeStart(std::function<bool()> check) { beforeStart_ = std::move(check); }

    CurveChart* lossChart() const { return lossChart_; }
    CurveChart* accuracyChart() const { return accuracyChart_; }
    RocChart* rocChart() const { return rocChart_; }
    QTableWidget* metricsTable() const { return metrics_; }
    QTableWidget* confusionTable() const { return confusion_; }
    QPlainTextEdit* log() const { return log_; }
    QProgressBar* progressBar() const { return progress_; }
    QPushButton* startButton() const { return start_; }
    QPushButton* pauseButton() const { return pause_; }
    QPushButton* resumeButton() const { return resume_; }
    QPushButton* cancelButton() const { return cancel_; }

public slots:
    void start();
    void pause();
    void resume();
    void cancel();

signals:
    void runningChanged(bool running);
    void epochShown(int epoch);
    void stopped();  // the thread is over (finished, cancelled or failed)

private:
    void resetDisplay();
    void updateMetricHeaders();  // which class is positive in precision, recall and F1
    void showBatch(const lucida::BatchProgress& p);
    void showEpoch(const lucida::EpochRecord& r);
    void showResult(const lucida::TrainResult& r);
    void showFailure(const QString& error);
    void threadFinished();
    void appendLog(const QString& text, bool error = false);
    void updateButtons();

    const TrainingDataPage* data_;
    OptionsProvider options_;
    QLabel* summaryLabel_;
    std::function<bool()> beforeStart_;
    QPushButton* start_;
    QPushButton* pause_;
    QPushButton* resume_;
    QPushButton* cancel_;
    QProgressBar* progress_;
    QLabel* speed_;
    QLabel* error_;
    CurveChart* lossChart_;
    CurveChart* accuracyChart_;
    RocChart* rocChart_;
    QTableWidget* metrics_;
    QTableWidget* confusion_;
    QPlainTextEdit* log_;

    QThread* thread_ = nullptr;
    std::unique_ptr<TrainingWorker> worker_;
    bool paused_ = false;
    bool cancelling_ = false;
    std::optional<TrainResult> result_;
    QString lastError_;
    QStringList classes_;
    int lastBestRow_ = -1;
};

}  // namespace lucida::ui
