#include "TrainingFinishPage.h"

#include "TrainingDataPage.h"
#include "TrainingRunPage.h"

#include <QDesktopServices>
#include <QDir>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QPixmap>
#include <QPushButton>
#include <QUrl>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

namespace lucida::ui {

namespace {
QString fileLine(const QString& what, const std::string& path) {
    if (path.empty()) return {};
    const QString p = QDir::toNativeSeparators(QString::fromStdString(path));
    return QStringLiteral("<tr><td><b>%1</b></td><td>%2</td></tr>").arg(what, p.toHtmlEscaped());
}
}  // namespace

TrainingFinishPage::TrainingFinishPage(const TrainingRunPage* run, QWidget* parent)
    : QWizardPage(parent), run_(run), preview_(new QFutureWatcher<QImage>(this)) {
    setTitle(tr("Done"));
    setSubTitle(
        tr("The trained model opens in the viewer and in lucida-cli like any other model: "
           "the sidecar next to it names the classes, input size and normalisation."));
    outcome_ = new QLabel(this);
    outcome_->setWordWrap(true);
    files_ = new QLabel(this);
    files_->setObjectName("outputFiles");
    files_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    files_->setWordWrap(true);
    curves_ = new QLabel(this);
    curves_->setAlignment(Qt::AlignCenter);
    curves_->setMinimumHeight(200);
    open_ = new QPushButton(QIcon::fromTheme("document-open"), tr("&Open the Model in the Viewer"),
                            this);
    showFolder_ = new QPushButton(QIcon::fromTheme("folder-open"), tr("Show the &Folder"), this);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(open_);
    buttons->addWidget(showFolder_);
    buttons->addStretch(1);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(outcome_);
    layout->addWidget(files_);
    layout->addLayout(buttons);
    layout->addWidget(curves_, 1);

    connect(open_, &QPushButton::clicked, this, [this] { emit openModelRequested(modelPath_); });
    connect(showFolder_, &QPushButton::clicked, this, [this] {
        QDesktopServices::openUrl(QUrl::fromLocalFile(QFileInfo(modelPath_).absolutePath()));
    });
    connect(preview_, &QFutureWatcher<QImage>::finished, this, [this] {
        const QImage image = preview_->result();
        if (image.isNull())
            curves_->clear();
        else
            curves_->setPixmap(QPixmap::fromImage(image));
    });
}

void TrainingFinishPage::initializePage() {
    curves_->clear();
    const auto& result = run_->result();
    if (!result) return;
    const TrainResult& r = *result;
    modelPath_ = QString::fromStdString(r.modelPath);
    QString outcome;
    switch (r.outcome) {
        case TrainOutcome::Finished:
            outcome = tr("Training finished.");
            break;
        case TrainOutcome::EarlyStopped:
            outcome = tr("Training stopped early: the validation loss stopped improving.");
            break;
        case TrainOutcome::Cancelled:
            outcome = tr("Training was cancelled; the best model so far was kept.");
            break;
    }
    if (r.bestEpoch > 0 && r.bestEpoch <= static_cast<int>(r.history.size())) {
        const EpochRecord& best = r.history[static_cast<std::size_t>(r.bestEpoch - 1)];
        outcome += " " + tr("The model is epoch %1's: validation loss %2, accuracy %3.")
                             .arg(best.epoch)
                             .arg(best.validationLoss, 0, 'f', 4)
                             .arg(best.validationAccuracy, 0, 'f', 3);
    }
    outcome_->setText(outcome);
    files_->setText(
        QStringLiteral("<table cellspacing=4>%1%2%3%4%5</table>")
            .arg(fileLine(tr("Model"), r.modelPath), fileLine(tr("Sidecar"), r.sidecarPath),
                 fileLine(tr("Report"), r.reportPath), fileLine(tr("Curves"), r.curvesPath),
                 fileLine(tr("Checkpoint"), r.checkpointPath)));
    open_->setEnabled(!modelPath_.isEmpty());
    showFolder_->setEnabled(!modelPath_.isEmpty());
    if (!r.curvesPath.empty())
        preview_->setFuture(
            QtConcurrent::run(loadThumbnail, QString::fromStdString(r.curvesPath), 900));
}

}  // namespace lucida::ui
