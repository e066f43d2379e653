#include "TrainingRunPage.h"
#include "DurationText.h"

#include "TrainingCharts.h"
#include "TrainingDataPage.h"
#include "TrainingWorker.h"

#include <QDir>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineSeries>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollBar>
#include <QSplitter>
#include <QTableWidget>
#include <QThread>
#include <QTime>
#include <QVBoxLayout>

#include <cmath>

namespace lucida::ui {

namespace {
enum MetricColumn {
    ColEpoch,
    ColTrainLoss,
    ColValLoss,
    ColTrainAcc,
    ColValAcc,
    ColPrecision,
    ColRecall,
    ColF1,
    ColAuc,
    ColLr,
    ColTime,
    ColSpeed,
    ColumnCount
};

QString number(double v, int decimals = 4) {
    return std::isfinite(v) ? QString::number(v, 'f', decimals) : QStringLiteral("–");
}

QTableWidgetItem* cell(const QString& text) {
    auto* item = new QTableWidgetItem(text);
    item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    return item;
}

QString path(const std::string& p) { return QDir::toNativeSeparators(QString::fromStdString(p)); }
}  // namespace

TrainingRunPage::TrainingRunPage(const TrainingDataPage* data, OptionsProvider options,
                                 QWidget* parent)
    : QWizardPage(parent), data_(data), options_(std::move(options)) {
    TrainingWorker::registerMetaTypes();
    setTitle(tr("Training"));
    setSubTitle(
        tr("Start the training and follow it. Cancelling keeps the best model so far and "
           "writes a checkpoint to resume from."));

    summaryLabel_ = new QLabel(this);
    summaryLabel_->setWordWrap(true);
    start_ = new QPushButton(QIcon::fromTheme("media-playback-start"), tr("&Start"), this);
    pause_ = new QPushButton(QIcon::fromTheme("media-playback-pause"), tr("&Pause"), this);
    resume_ = new QPushButton(QIcon::fromTheme("media-playback-start"), tr("&Resume"), this);
    cancel_ = new QPushButton(QIcon::fromTheme("process-stop"), tr("&Cancel Training"), this);
    progress_ = new QProgressBar(this);
    progress_->setObjectName("trainingProgress");
    progress_->setTextVisible(true);
    progress_->setMinimumWidth(260);
    speed_ = new QLabel(this);
    speed_->setMinimumWidth(260);
    error_ = new QLabel(this);
    error_->setObjectName("runError");
    error_->setWordWrap(true);
    error_->setStyleSheet("color: #c62828; font-weight: bold;");
    error_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    error_->hide();

    auto* controls = new QHBoxLayout;
    for (QPushButton* b : {start_, pause_, resume_, cancel_}) controls->addWidget(b);
    controls->addSpacing(12);
    controls->addWidget(progress_, 1);
    controls->addWidget(speed_);

    lossChart_ = new CurveChart(tr("Loss"), tr("loss"), {tr("training"), tr("validation")}, this);
    accuracyChart_ =
        new CurveChart(tr("Accuracy"), tr("accuracy"), {tr("training"), tr("validation")}, this);
    accuracyChart_->setUnitRange(true);
    rocChart_ = new RocChart(this);

    metrics_ = new QTableWidget(0, ColumnCount, this);
    metrics_->setObjectName("epochMetrics");
    metrics_->setHorizontalHeaderLabels({tr("Epoch"), tr("Train loss"), tr("Val loss"),
                                         tr("Train acc"), tr("Val acc"), tr("Precision"),
                                         tr("Recall"), tr("F1"), tr("ROC-AUC"), tr("LR"),
                                         tr("Time"), tr("img/s")});
    metrics_->verticalHeader()->hide();
    metrics_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    metrics_->setSelectionBehavior(QAbstractItemView::SelectRows);
    metrics_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);

    confusion_ = new QTableWidget(this);
    confusion_->setObjectName("confusionMatrix");
    confusion_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    confusion_->setSelectionMode(QAbstractItemView::NoSelection);
    confusion_->setToolTip(
        tr("Validation images: rows are the true class, columns the predicted "
           "class (latest epoch)."));
    confusion_->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    confusion_->verticalHeader()->setSectionResizeMode(QHeaderView::Stretch);

    log_ = new QPlainTextEdit(this);
    log_->setObjectName("trainingLog");
    log_->setReadOnly(true);
    log_->setMaximumBlockCount(5000);
    log_->setLineWrapMode(QPlainTextEdit::NoWrap);

    auto* charts = new QWidget(this);
    auto* chartsLayout = new QHBoxLayout(charts);
    chartsLayout->setContentsMargins(0, 0, 0, 0);
    chartsLayout->addWidget(lossChart_, 1);
    chartsLayout->addWidget(accuracyChart_, 1);
    chartsLayout->addWidget(rocChart_, 1);

    auto* confusionBox = new QWidget(this);
    auto* confusionLayout = new QVBoxLayout(confusionBox);
    confusionLayout->setContentsMargins(0, 0, 0, 0);
    auto* confusionTitle = new QLabel(tr("Confusion matrix (true ↓ / predicted →)"), confusionBox);
    confusionLayout->addWidget(confusionTitle);
    confusionLayout->addWidget(confusion_, 1);

    auto* tables = new QSplitter(Qt::Horizontal, this);
    tables->addWidget(metrics_);
    tables->addWidget(confusionBox);
    tables->setStretchFactor(0, 3);
    tables->setStretchFactor(1, 1);

    auto* vertical = new QSplitter(Qt::Vertical, this);
    vertical->addWidget(charts);
    vertical->addWidget(tables);
    vertical->addWidget(log_);
    vertical->setStretchFactor(0, 5);
    vertical->setStretchFactor(1, 3);
    vertical->setStretchFactor(2, 2);
    vertical->setChildrenCollapsible(false);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(summaryLabel_);
    layout->addLayout(controls);
    layout->addWidget(error_);
    layout->addWidget(vertical, 1);

    connect(start_, &QPushButton::clicked, this, &TrainingRunPage::start);
    connect(pause_, &QPushButton::clicked, this, &TrainingRunPage::pause);
    connect(resume_, &QPushButton::clicked, this, &TrainingRunPage::resume);
    connect(cancel_, &QPushButton::clicked, this, &TrainingRunPage::cancel);
    updateButtons();
}

TrainingRunPage::~TrainingRunPage() {
    blockSignals(true);  // whoever listens may be half destroyed by now
    cancelAndWait();
}

void TrainingRunPage::cancelAndWait() {
    if (!thread_) return;
    worker_->cancel();
    thread_->wait();
    threadFinished();
}

void TrainingRunPage::initializePage() {
    if (isRunning()) return;
    resetDisplay();
    const TrainOptions o = options_();
    const QList<int> train = data_->trainingPerClass(), validation = data_->validationPerClass();
    int trainCount = 0, validationCount = 0;
    for (int n : train) trainCount += n;
    for (int n : validation) validationCount += n;
    QString model = QString::fromStdString(o.architecture);
    if (o.architecture == "file") model = tr("fine-tuning %1").arg(path(o.baseModel));
    summaryLabel_->setText(
        tr("<b>%1</b>, %2 px, %3 classes · %4 training / %5 validation images · %6 epochs, "
           "batch %7, %8 lr %9 · output: %10")
            .arg(model.toHtmlEscaped())
            .arg(o.inputSize)
            .arg(data_->classes().size())
            .arg(trainCount)
            .arg(validationCount)
            .arg(o.epochs)
            .arg(o.batchSize)
            .arg(QString::fromStdString(o.optimizer))
            .arg(o.learningRate)
            .arg(QDir(path(o.outDir))
                     .filePath(QString::fromStdString(o.modelName) + ".pth")
                     .toHtmlEscaped()));
}

void TrainingRunPage::resetDisplay() {
    result_.reset();
    lastError_.clear();
    error_->hide();
    lossChart_->clear();
    accuracyChart_->clear();
    rocChart_->clear();
    metrics_->setRowCount(0);
    confusion_->clear();
    confusion_->setRowCount(0);
    confusion_->setColumnCount(0);
    progress_->setRange(0, 1);
    progress_->setValue(0);
    progress_->setFormat(tr("Not started"));
    speed_->clear();
    lastBestRow_ = -1;
    classes_ = data_->classes();
    updateMetricHeaders();
    emit completeChanged();
}

void TrainingRunPage::updateMetricHeaders() {
    // Two classes: the second is the positive one (as for the ROC); more: the mean over classes.
    const bool binary = classes_.size() == 2;
    const QString which = binary ? tr("%1 +").arg(classes_[1]) : tr("macro");
    const QString tip =
        binary ? tr("“%1” taken as the positive class (as for the ROC)").arg(classes_[1])
               : tr("Mean over the classes, each in turn taken as positive");
    const std::pair<int, QString> columns[] = {
        {ColPrecision, tr("Precision")}, {ColRecall, tr("Recall")}, {ColF1, tr("F1")}};
    for (const auto& [column, name] : columns) {
        metrics_->horizontalHeaderItem(column)->setText(QStringLiteral("%1 (%2)").arg(name, which));
        metrics_->horizontalHeaderItem(column)->setToolTip(tip);
    }
}

bool TrainingRunPage::isComplete() const {
    return !isRunning() && result_ && !result_->modelPath.empty();
}

void TrainingRunPage::start() {
    if (isRunning()) return;
    if (beforeStart_ && !beforeStart_()) return;
    initializePage();  // the summary names the outputs as they are now
    const TrainOptions options = options_();
    if (!QDir().mkpath(QString::fromStdString(options.outDir))) {
        showFailure(tr("%1: cannot create the output folder.").arg(path(options.outDir)));
        return;
    }
    log_->clear();
    appendLog(tr("Starting: %1 on %2 (output %3).")
                  .arg(QString::fromStdString(options.architecture), path(options.dataDir),
                       path(options.outDir)));
    if (!options.resumeFrom.empty())
        appendLog(tr("Resuming from %1.").arg(path(options.resumeFrom)));
    progress_->setFormat(tr("Preparing…"));
    progress_->setRange(0, 0);  // busy until the first batch

    worker_ = std::make_unique<TrainingWorker>(options);
    thread_ = new QThread(this);
    thread_->setObjectName("training");
    worker_->moveToThread(thread_);
    connect(thread_, &QThread::started, worker_.get(), &TrainingWorker::run);
    // Direct: quitting must not depend on the GUI thread's event loop (cancelAndWait blocks it).
    connect(worker_.get(), &TrainingWorker::done, thread_, &QThread::quit, Qt::DirectConnection);
    connect(worker_.get(), &TrainingWorker::batchProgress, this, &TrainingRunPage::showBatch);
    connect(worker_.get(), &TrainingWorker::epochFinished, this, &TrainingRunPage::showEpoch);
    connect(worker_.get(), &TrainingWorker::message, this,
            [this](const QString& m) { appendLog(m); });
    connect(worker_.get(), &TrainingWorker::finished, this, &TrainingRunPage::showResult);
    connect(worker_.get(), &TrainingWorker::failed, this, &TrainingRunPage::showFailure);
    connect(thread_, &QThread::finished, this, &TrainingRunPage::threadFinished);
    paused_ = false;
    cancelling_ = false;
    thread_->start();
    updateButtons();
    emit completeChanged();
    emit runningChanged(true);
}

void TrainingRunPage::pause() {
    if (!isRunning() || paused_ || cancelling_) return;
    paused_ = true;
    worker_->setPaused(true);
    appendLog(tr("Paused (after the current batch)."));
    speed_->setText(tr("paused"));
    updateButtons();
}

void TrainingRunPage::resume() {
    if (!isRunning() || !paused_) return;
    paused_ = false;
    worker_->setPaused(false);
    appendLog(tr("Resumed."));
    speed_->clear();
    updateButtons();
}

void TrainingRunPage::cancel() {
    if (!isRunning() || cancelling_) return;
    cancelling_ = true;
    paused_ = false;
    worker_->cancel();
    appendLog(tr("Cancelling: the current batch finishes, then a checkpoint is written…"));
    progress_->setFormat(progress_->format() + tr(" — cancelling…"));
    updateButtons();
}

void TrainingRunPage::threadFinished() {
    if (!thread_) return;
    thread_->wait();
    worker_.reset();
    thread_->deleteLater();
    thread_ = nullptr;
    paused_ = false;
    cancelling_ = false;
    if (progress_->maximum() == 0) progress_->setRange(0, 1);  // never got a batch
    updateButtons();
    emit completeChanged();
    emit runningChanged(false);
    emit stopped();
}

void TrainingRunPage::updateButtons() {
    const bool running = isRunning();
    start_->setEnabled(!running);
    start_->setText(result_ || !lastError_.isEmpty() ? tr("&Start Again") : tr("&Start"));
    pause_->setEnabled(running && !paused_ && !cancelling_);
    resume_->setEnabled(running && paused_ && !cancelling_);
    cancel_->setEnabled(running && !cancelling_);
}

void TrainingRunPage::showBatch(const BatchProgress& p) {
    const int total = std::max(1, p.epochs * p.batches);
    progress_->setRange(0, total);
    progress_->setValue(std::min(total, (p.epoch - 1) * p.batches + p.batch));
    QString text =
        tr("Epoch %1/%2 · batch %3/%4").arg(p.epoch).arg(p.epochs).arg(p.batch).arg(p.batches);
    if (cancelling_) text += tr(" — cancelling…");
    progress_->setFormat(text);
    if (!paused_)
        speed_->setText(tr("%1 images/s · ETA %2 · loss %3")
                            .arg(p.imagesPerSecond, 0, 'f', 1)
                            .arg(durationText(p.secondsLeft))
                            .arg(number(p.loss)));
}

void TrainingRunPage::showEpoch(const EpochRecord& r) {
    lossChart_->append(0, r.epoch, r.trainLoss);
    lossChart_->append(1, r.epoch, r.validationLoss);
    accuracyChart_->append(0, r.epoch, r.trainAccuracy);
    accuracyChart_->append(1, r.epoch, r.validationAccuracy);
    const ClassificationMetrics& m = r.metrics;
    rocChart_->setCurve(m.roc, m.rocAuc, r.epoch);

    const int row = metrics_->rowCount();
    metrics_->insertRow(row);
    QString epochText = QString::number(r.epoch);
    if (r.backboneFrozen) epochText += tr(" (head)");
    if (r.best) epochText += QStringLiteral(" ★");
    auto* epochItem = cell(epochText);
    if (r.backboneFrozen) epochItem->setToolTip(tr("Only the new head trained (backbone frozen)."));
    metrics_->setItem(row, ColEpoch, epochItem);
    metrics_->setItem(row, ColTrainLoss, cell(number(r.trainLoss)));
    metrics_->setItem(row, ColValLoss, cell(number(r.validationLoss)));
    metrics_->setItem(row, ColTrainAcc, cell(number(r.trainAccuracy, 3)));
    metrics_->setItem(row, ColValAcc, cell(number(r.validationAccuracy, 3)));
    // The positive class's figures for two classes (the headers say which), else macro means.
    const bool binary =
        classes_.size() == 2 && m.precision.size() == 2 && m.recall.size() == 2 && m.f1.size() == 2;
    metrics_->setItem(row, ColPrecision,
                      cell(number(binary ? m.precision[1] : m.macroPrecision, 3)));
    metrics_->setItem(row, ColRecall, cell(number(binary ? m.recall[1] : m.macroRecall, 3)));
    metrics_->setItem(row, ColF1, cell(number(binary ? m.f1[1] : m.macroF1, 3)));
    metrics_->setItem(row, ColAuc, cell(number(m.rocAuc, 3)));
    metrics_->setItem(row, ColLr, cell(QString::number(r.learningRate, 'g', 3)));
    metrics_->setItem(
        row, ColTime,
        cell(r.seconds < 60 ? tr("%1 s").arg(r.seconds, 0, 'f', 1) : durationText(r.seconds)));
    metrics_->setItem(row, ColSpeed, cell(QString::number(r.imagesPerSecond, 'f', 1)));
    if (r.best) {
        for (int target : {lastBestRow_, row}) {
            if (target < 0) continue;
            for (int c = 0; c < ColumnCount; ++c) {
                QTableWidgetItem* item = metrics_->item(target, c);
                QFont f = item->font();
                f.setBold(target == row);
                item->setFont(f);
            }
        }
        lastBestRow_ = row;
    }
    metrics_->scrollToBottom();

    // The latest confusion matrix, shaded by the share of each true class.
    const int n = static_cast<int>(m.confusion.size());
    confusion_->setRowCount(n);
    confusion_->setColumnCount(n);
    QStringList names;
    for (int c = 0; c < n; ++c) names << (c < classes_.size() ? classes_[c] : QString::number(c));
    confusion_->setHorizontalHeaderLabels(names);
    confusion_->setVerticalHeaderLabels(names);
    for (int t = 0; t < n; ++t) {
        int rowSum = 0;
        for (int v : m.confusion[t]) rowSum += v;
        for (int p = 0; p < n && p < static_cast<int>(m.confusion[t].size()); ++p) {
            const int v = m.confusion[t][p];
            auto* item = new QTableWidgetItem(QString::number(v));
            item->setTextAlignment(Qt::AlignCenter);
            const double share = rowSum > 0 ? double(v) / rowSum : 0.0;
            QColor colour = t == p ? QColor(46, 125, 50) : QColor(198, 40, 40);
            colour.setAlphaF(0.1 + 0.6 * share);
            if (v > 0) item->setBackground(colour);
            item->setToolTip(tr("true %1, predicted %2: %3 (%4% of the class)")
                                 .arg(names[t], names[p])
                                 .arg(v)
                                 .arg(share * 100, 0, 'f', 1));
            confusion_->setItem(t, p, item);
        }
    }

    appendLog(tr("Epoch %1: train loss %2, validation loss %3, validation accuracy %4%5")
                  .arg(r.epoch)
                  .arg(number(r.trainLoss))
                  .arg(number(r.validationLoss))
                  .arg(number(r.validationAccuracy, 3))
                  .arg(r.best ? tr(" (best so far, saved)") : QString()));
    emit epochShown(r.epoch);
}

void TrainingRunPage::showResult(const TrainResult& r) {
    result_ = r;
    if (!r.classes.empty()) {
        classes_.clear();
        for (const std::string& c : r.classes) classes_ << QString::fromStdString(c);
        updateMetricHeaders();
    }
    const int epochs = static_cast<int>(r.history.size());
    switch (r.outcome) {
        case TrainOutcome::Finished:
            appendLog(tr("Training finished after %n epoch(s).", nullptr, epochs));
            break;
        case TrainOutcome::EarlyStopped:
            appendLog(tr("Stopped early after %n epoch(s): the validation loss stopped improving.",
                         nullptr, epochs));
            break;
        case TrainOutcome::Cancelled:
            appendLog(tr("Cancelled after %n complete epoch(s).", nullptr, epochs));
            break;
    }
    if (!r.device.empty()) appendLog(tr("Device: %1").arg(QString::fromStdString(r.device)));
    if (r.bestEpoch > 0) appendLog(tr("Best epoch: %1 (lowest validation loss).").arg(r.bestEpoch));
    if (!r.modelPath.empty()) appendLog(tr("Model: %1").arg(path(r.modelPath)));
    if (!r.sidecarPath.empty()) appendLog(tr("Sidecar: %1").arg(path(r.sidecarPath)));
    if (!r.reportPath.empty()) appendLog(tr("Report: %1").arg(path(r.reportPath)));
    if (!r.curvesPath.empty()) appendLog(tr("Curves: %1").arg(path(r.curvesPath)));
    if (!r.checkpointPath.empty())
        appendLog(tr("Checkpoint (resume from here): %1").arg(path(r.checkpointPath)));
    if (r.modelPath.empty()) appendLog(tr("No epoch completed, so no model was saved."), true);
    if (!r.skipped.empty())
        appendLog(tr("%n file(s) could not be read and were skipped.", nullptr,
                     static_cast<int>(r.skipped.size())));

    // Mark the epoch that became the model.
    for (int row = 0; row < metrics_->rowCount(); ++row) {
        const bool best = row < epochs && r.history[row].epoch == r.bestEpoch;
        for (int c = 0; c < ColumnCount; ++c)
            if (QTableWidgetItem* item = metrics_->item(row, c)) {
                QFont f = item->font();
                f.setBold(best);
                item->setFont(f);
            }
    }
    if (progress_->maximum() > 0 && r.outcome != TrainOutcome::Cancelled)
        progress_->setValue(progress_->maximum());
    progress_->setFormat(r.outcome == TrainOutcome::Cancelled ? tr("Cancelled")
                         : r.outcome == TrainOutcome::EarlyStopped
                             ? tr("Stopped early (epoch %1)").arg(epochs)
                             : tr("Finished (%n epoch(s))", nullptr, epochs));
    speed_->clear();
}

void TrainingRunPage::showFailure(const QString& error) {
    lastError_ = error;
    error_->setText(error);
    error_->show();
    appendLog(tr("Training failed: %1").arg(error), true);
    progress_->setRange(0, 1);
    progress_->setValue(0);
    progress_->setFormat(tr("Failed"));
    speed_->clear();
    updateButtons();
}

void TrainingRunPage::appendLog(const QString& text, bool error) {
    const QString line = QStringLiteral("[%1] %2").arg(QTime::currentTime().toString("HH:mm:ss"),
                                                       text.toHtmlEscaped().replace('\n', "<br>"));
    log_->appendHtml(error ? QStringLiteral("<span style='color:#c62828'>%1</span>").arg(line)
                           : line);
    log_->verticalScrollBar()->setValue(log_->verticalScrollBar()->maximum());
}

}  // namespace lucida::ui
