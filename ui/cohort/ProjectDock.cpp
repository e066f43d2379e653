#include "ProjectDock.h"

#include "ImageSettingsDialog.h"
#include "ModelSession.h"
#include "ProjectTableModel.h"
#include "util/ProgressText.h"

#include <QDir>
#include <QFileInfo>
#include <QFutureWatcher>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QMessageBox>
#include <QProgressBar>
#include <QPushButton>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QTimer>
#include <QVBoxLayout>
#include <QtConcurrent>

#include <set>

namespace lucida::ui {
namespace {
constexpr int kYieldPollMs = 200;  // how soon the queue gives way when the viewer starts working
}

ProjectDock::ProjectDock(ModelSession* session, QWidget* parent)
    : QDockWidget(tr("Project"), parent),
      session_(session),
      model_(new ProjectTableModel(this)),
      proxy_(new QSortFilterProxyModel(this)),
      queue_(new AnalysisQueue(this)) {
    setObjectName("projectDock");
    scanPool_.setMaxThreadCount(1);  // statuses fill in without taking the machine from the viewer
    proxy_->setSourceModel(model_);
    proxy_->setSortRole(ProjectTableModel::kSortRole);
    proxy_->setFilterKeyColumn(-1);
    proxy_->setFilterCaseSensitivity(Qt::CaseInsensitive);
    buildWidgets();
    connect(queue_, &AnalysisQueue::progressChanged, this, &ProjectDock::showProgress);
    connect(queue_, &AnalysisQueue::imageFinished, this, &ProjectDock::imageFinished);
    connect(queue_, &AnalysisQueue::finished, this, [this](bool cancelled) {
        progressText_->setText(cancelled ? tr("Cancelled; Analyse resumes from stored results.")
                                         : tr("Queue finished."));
        pause_->setChecked(false);
        for (int row = 0; row < model_->rowCount(); ++row) model_->setQueueText(row, {});
        updateButtons();
        emit queueFinished(cancelled);
    });
    auto* yieldTimer = new QTimer(this);
    yieldTimer->setInterval(kYieldPollMs);
    connect(yieldTimer, &QTimer::timeout, this, [this] {
        if (queue_->isRunning()) queue_->setYield(viewerBusy_ && viewerBusy_());
    });
    yieldTimer->start();
    connect(session_, &ModelSession::modelChanged, this, &ProjectDock::rescan);
    connect(session_, &ModelSession::analysisChanged, this, &ProjectDock::rescan);
    updateButtons();
}

ProjectDock::~ProjectDock() {
    queue_->cancel();
    scanPool_.clear();
    scanPool_.waitForDone();
}

void ProjectDock::buildWidgets() {
    auto* body = new QWidget(this);
    auto* layout = new QVBoxLayout(body);
    filter_ = new QLineEdit(body);
    filter_->setObjectName("projectFilter");
    filter_->setPlaceholderText(tr("Filter (name, status, label, group)"));
    filter_->setClearButtonEnabled(true);
    connect(filter_, &QLineEdit::textChanged, proxy_, &QSortFilterProxyModel::setFilterFixedString);
    view_ = new QTableView(body);
    view_->setObjectName("projectTable");
    view_->setModel(proxy_);
    view_->setSortingEnabled(true);
    view_->sortByColumn(ProjectTableModel::Image, Qt::AscendingOrder);
    view_->setSelectionBehavior(QAbstractItemView::SelectRows);
    view_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    view_->setIconSize(QSize(kThumbnailSide, kThumbnailSide));
    view_->verticalHeader()->setDefaultSectionSize(kThumbnailSide + 4);
    view_->verticalHeader()->hide();
    view_->setWordWrap(false);
    body->setMinimumWidth(440);  // name, size, status and score without scrolling
    view_->horizontalHeader()->setStretchLastSection(true);
    connect(view_, &QTableView::doubleClicked, this, [this](const QModelIndex& index) {
        const int row = proxy_->mapToSource(index).row();
        emit openImageRequested(index.data(ProjectTableModel::kPathRole).toString(),
                                model_->image(row).settings);
    });
    connect(view_->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            &ProjectDock::updateButtons);
    view_->setContextMenuPolicy(Qt::CustomContextMenu);
    connect(view_, &QWidget::customContextMenuRequested, this, &ProjectDock::showContextMenu);

    analyseAll_ = new QPushButton(tr("Analyse All"), body);
    analyseSelected_ = new QPushButton(tr("Analyse Selected"), body);
    pause_ = new QPushButton(tr("Pause"), body);
    pause_->setCheckable(true);
    cancel_ = new QPushButton(tr("Cancel"), body);
    analyseAll_->setObjectName("projectAnalyseAll");
    analyseSelected_->setObjectName("projectAnalyseSelected");
    pause_->setObjectName("projectPause");
    cancel_->setObjectName("projectCancel");
    connect(analyseAll_, &QPushButton::clicked, this, &ProjectDock::analyseAll);
    connect(analyseSelected_, &QPushButton::clicked, this, &ProjectDock::analyseSelected);
    connect(pause_, &QPushButton::toggled, this, &ProjectDock::setPaused);
    connect(cancel_, &QPushButton::clicked, this, &ProjectDock::cancelQueue);
    auto* buttons = new QHBoxLayout;
    for (auto* b : {analyseAll_, analyseSelected_, pause_, cancel_}) buttons->addWidget(b);
    progressBar_ = new QProgressBar(body);
    progressBar_->setObjectName("projectProgress");
    progressBar_->setRange(0, 1000);
    progressBar_->setValue(0);
    progressText_ =
        new QLabel(tr("Open or make a project: File ▸ New Project / Open Project."), body);
    progressText_->setObjectName("projectProgressText");
    progressText_->setWordWrap(true);
    layout->addWidget(filter_);
    layout->addWidget(view_, 1);
    layout->addLayout(buttons);
    layout->addWidget(progressBar_);
    layout->addWidget(progressText_);
    setWidget(body);
}

void ProjectDock::openProject(const QString& path) {
    CohortProject project = readProject(path.toStdString());
    queue_->cancel();
    projectPath_ = QFileInfo(path).absoluteFilePath();
    resultsDir_ = QString::fromStdString(project.resultsDir);
    model_->setImages(std::move(project.images));
    view_->resizeColumnsToContents();
    setWindowTitle(tr("Project — %1").arg(QFileInfo(path).completeBaseName()));
    progressText_->setText(tr("%n image(s).", "", model_->rowCount()));
    rescan();
    updateButtons();
    emit projectOpened(projectPath_);
}

void ProjectDock::createProject(const QString& source, const QString& projectPath) {
    const auto images = readCohort(source.toStdString());
    const QFileInfo info(projectPath);
    const QString results = info.dir().filePath(info.completeBaseName() + ".results");
    writeProjectFile(projectPath.toStdString(), images, results.toStdString());
    openProject(projectPath);
}

QString ProjectDock::resultsRootOfImage(const QString& imagePath) const {
    return rowOfImage(imagePath) < 0 ? QString() : resultsRootOf(imagePath, resultsDir_);
}

int ProjectDock::rowOfImage(const QString& imagePath) const {
    const std::string path = QFileInfo(imagePath).absoluteFilePath().toStdString();
    const auto& images = model_->images();
    for (std::size_t row = 0; row < images.size(); ++row)
        if (images[row].path == path) return int(row);
    return -1;
}

ImageSettings ProjectDock::imageSettingsOf(const QString& imagePath) const {
    const int row = rowOfImage(imagePath);
    return row < 0 ? ImageSettings{} : model_->image(row).settings;
}

void ProjectDock::rescan() {
    ++scanGeneration_;
    for (int row = 0; row < model_->rowCount(); ++row) scanRow(row);
}

void ProjectDock::scanRow(int row) {
    const QString path = QString::fromStdString(model_->image(row).path);
    const ImageSettings own = model_->image(row).settings;
    const QueueSettings settings = queueSettingsOf(*session_);
    const QString root = resultsRootOf(path, resultsDir_);
    auto* watcher = new QFutureWatcher<ImageScan>(this);
    ++pendingScans_;
    connect(watcher, &QFutureWatcher<ImageScan>::finished, this,
            [this, watcher, row, generation = scanGeneration_] {
                if (generation == scanGeneration_) model_->setScan(row, watcher->result());
                watcher->deleteLater();
                if (--pendingScans_ > 0) return;
                view_->resizeColumnsToContents();  // sizes, statuses and scores are in now
                const int status = ProjectTableModel::Status;  // a long reason: in its tooltip
                view_->setColumnWidth(status, std::min(view_->columnWidth(status), 120));
                emit scansFinished();
            });
    watcher->setFuture(QtConcurrent::run(
        &scanPool_, [path, settings, root, own] { return scanImage(path, settings, root, own); }));
}

void ProjectDock::analyseAll() {
    std::vector<int> rows;
    for (int row = 0; row < model_->rowCount(); ++row) rows.push_back(row);
    enqueue(rows);
}

std::vector<int> ProjectDock::selectedRows() const {
    std::set<int> rows;
    for (const QModelIndex& index : view_->selectionModel()->selectedRows())
        rows.insert(proxy_->mapToSource(index).row());
    return {rows.begin(), rows.end()};
}

void ProjectDock::analyseSelected() { enqueue(selectedRows()); }

void ProjectDock::showContextMenu(const QPoint& at) {
    if (!view_->indexAt(at).isValid() || !view_->selectionModel()->hasSelection()) return;
    QMenu menu(this);
    QAction* edit =
        menu.addAction(tr("Image Settings…"), this, &ProjectDock::editSelectedImageSettings);
    edit->setObjectName("projectImageSettings");
    edit->setEnabled(!queue_->isRunning());  // the queue runs with the settings it was given
    menu.addAction(tr("Analyse Selected"), this, &ProjectDock::analyseSelected)
        ->setEnabled(analyseSelected_->isEnabled());
    menu.exec(view_->viewport()->mapToGlobal(at));
}

void ProjectDock::editSelectedImageSettings() { editImageSettings(selectedRows()); }

void ProjectDock::editImageSettings(const std::vector<int>& rows) {
    if (rows.empty()) return;
    if (queue_->isRunning()) {  // it runs with the settings it was given
        QMessageBox::information(this, tr("Image Settings"),
                                 tr("Cancel the project's queue first: it runs with the settings "
                                    "it started with."));
        return;
    }
    const QString names =
        rows.size() == 1 ? QFileInfo(QString::fromStdString(model_->image(rows[0]).path)).fileName()
                         : tr("%n image(s)", "", int(rows.size()));
    ImageSettingsDialog dialog(model_->image(rows[0]).settings, names, this);
    if (dialog.exec() != QDialog::Accepted) return;
    try {
        setImageSettings(rows, dialog.settings());
    } catch (const std::exception& e) {
        QMessageBox::warning(this, tr("Image Settings"),
                             tr("The project was not saved: %1").arg(e.what()));
    }
}

void ProjectDock::setImageSettings(const std::vector<int>& rows, const ImageSettings& own) {
    std::vector<CohortImage> images = model_->images();
    for (const int row : rows)
        if (row >= 0 && row < int(images.size())) images[std::size_t(row)].settings = own;
    writeProjectFile(projectPath_.toStdString(), images, resultsDir_.toStdString());
    for (const int row : rows) {
        if (row < 0 || row >= int(images.size())) continue;
        model_->setImageSettings(row, own);
        scanRow(row);
        emit imageSettingsChanged(QString::fromStdString(images[std::size_t(row)].path), own);
    }
    progressText_->setText(own.empty()
                               ? tr("%n image(s) use the window's settings.", "", int(rows.size()))
                               : tr("%n image(s): %1; saved to the project.", "", int(rows.size()))
                                     .arg(QString::fromStdString(describe(own))));
}

// Done, missing and excluded images are left out: done ones are never recomputed, missing ones
// cannot be, excluded ones the project leaves out (as `lucida-cli batch` does).
void ProjectDock::enqueue(const std::vector<int>& rows) {
    const QueueSettings settings = queueSettingsOf(*session_);
    if (!settings.model) {
        progressText_->setText(tr("Open a model first (Analysis ▸ Open Model…)."));
        return;
    }
    std::vector<QueueItem> items;
    for (const int row : rows) {
        const ImageStatus status = model_->scan(row).status;
        const CohortImage& image = model_->image(row);
        if (status == ImageStatus::Done || status == ImageStatus::Missing ||
            image.settings.excluded)
            continue;
        const QString path = QString::fromStdString(image.path);
        items.push_back({row, path, resultsRootOf(path, resultsDir_), image.settings});
        model_->setQueueText(row, tr("queued"));
    }
    if (items.empty()) {
        progressText_->setText(tr("Nothing to analyse: every image asked for is done."));
        return;
    }
    queue_->setYield(viewerBusy_ && viewerBusy_());
    queue_->start(settings, std::move(items));
    progressBar_->setValue(0);
    updateButtons();
}

void ProjectDock::setPaused(bool paused) {
    queue_->setPaused(paused);
    if (pause_->isChecked() != paused) pause_->setChecked(paused);
}

void ProjectDock::cancelQueue() { queue_->cancel(); }

void ProjectDock::showProgress(const QueueProgress& p) {
    if (p.current >= 0 && p.patchesTotal)
        model_->setQueueText(p.current,
                             tr("analysing %1 %").arg(int(100.0 * p.patchesDone / p.patchesTotal)));
    const double fraction =
        (p.finished + (p.patchesTotal ? double(p.patchesDone) / p.patchesTotal : 0.0)) /
        std::max(1, p.total);
    progressBar_->setValue(int(1000 * fraction));
    QString text = tr("%1 of %2 images").arg(p.finished).arg(p.total);
    if (p.held)
        text += queue_->isPaused() ? tr(" · paused") : tr(" · waiting for the viewer's analysis");
    else if (p.patchesPerSecond > 0)
        text += " · " + QString::fromStdString(rateText(p.patchesPerSecond, "patches"));
    if (p.imagesPerHour > 0) text += tr(" · %1 images/h").arg(p.imagesPerHour, 0, 'f', 1);
    if (p.secondsLeft >= 0)
        text += tr(" · ETA %1").arg(QString::fromStdString(durationText(p.secondsLeft)));
    progressText_->setText(text);
}

void ProjectDock::imageFinished(int row, const QString& status, const QString& error) {
    Q_UNUSED(status);
    Q_UNUSED(error);
    scanRow(row);  // the stored results (or the recorded failure) say the rest
}

void ProjectDock::updateButtons() {
    const bool running = queue_->isRunning();
    const bool any = model_->rowCount() > 0;
    analyseAll_->setEnabled(any && !running);
    analyseSelected_->setEnabled(any && !running && view_->selectionModel()->hasSelection());
    pause_->setEnabled(running);
    cancel_->setEnabled(running);
}

}  // namespace lucida::ui
