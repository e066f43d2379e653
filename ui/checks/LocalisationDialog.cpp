#include "LocalisationDialog.h"

#include "AnnotationDocument.h"
#include "ImageDocument.h"
#include "ModelSession.h"
#include "ResultsLocation.h"
#include "SlideView.h"
#include "ViewAnnotations.h"
#include "cam/CamMethod.h"
#include "io/AtomicFile.h"
#include "model/Model.h"

#include <QApplication>
#include <QClipboard>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QListWidget>
#include <QMessageBox>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QTableWidget>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

#include <set>

namespace lucida::ui {

namespace {

constexpr auto kMethodsKey = "localisation/methods";

QString percent(double share) { return QString::number(100 * share, 'f', 1) + " %"; }

QString methodTitle(const std::string& method) {
    return QString::fromStdString(camMethodTitle(method));
}

QTableWidget* makeTable(const QStringList& headers, const char* name, QWidget* parent) {
    auto* t = new QTableWidget(0, int(headers.size()), parent);
    t->setObjectName(name);
    t->setHorizontalHeaderLabels(headers);
    t->setEditTriggers(QAbstractItemView::NoEditTriggers);
    t->setSelectionBehavior(QAbstractItemView::SelectRows);
    t->verticalHeader()->hide();
    t->horizontalHeader()->setStretchLastSection(true);
    return t;
}

}  // namespace

LocalisationDialog::LocalisationDialog(SlideView* view, const ModelSession& session,
                                       QWidget* parent)
    : QDialog(parent),
      view_(view),
      source_(view->document()->source()),
      model_(session.model()),
      cancel_(std::make_shared<std::atomic<bool>>(false)),
      failure_(std::make_shared<std::string>()) {
    setObjectName("localisationDialog");
    setWindowTitle(tr("Localisation — %1").arg(view->document()->displayName()));
    base_.settings = session.analysisSettings();  // what the panel's heat is made with
    AnalysisSettings& s = base_.settings;
    s.slice = view->document()->slice();
    s.batchSize = 0;  // what fits the free memory
    base_.resultsRoot = resultsRootFor(view->document()->path(), savedResultsPlace()).toStdString();
    base_.imageWidth = double(view->document()->info().width());
    base_.imageHeight = double(view->document()->info().height());

    class_ = new QComboBox(this);
    class_->setObjectName("localisationClass");
    methods_ = new QListWidget(this);
    methods_->setObjectName("localisationMethods");
    const QStringList ticked = QSettings().value(kMethodsKey).toStringList();
    for (const std::string& m : camMethodNames()) {
        auto* item = new QListWidgetItem(methodTitle(m), methods_);
        item->setData(Qt::UserRole, QString::fromStdString(m));
        const bool on = m == s.method || ticked.contains(QString::fromStdString(m));
        item->setCheckState(on ? Qt::Checked : Qt::Unchecked);
    }
    methods_->setMaximumHeight(150);
    auto* form = new QFormLayout;
    form->addRow(tr("Annotations:"), class_);
    form->addRow(tr("Methods:"), methods_);

    runButton_ = new QPushButton(tr("Score"), this);
    runButton_->setObjectName("localisationRun");
    runButton_->setDefault(true);
    cancelButton_ = new QPushButton(tr("Cancel"), this);
    cancelButton_->setObjectName("localisationCancel");
    progress_ = new QProgressBar(this);
    progress_->setObjectName("localisationProgress");
    progress_->setRange(0, 1000);
    auto* runRow = new QHBoxLayout;
    runRow->addWidget(runButton_);
    runRow->addWidget(cancelButton_);
    runRow->addWidget(progress_, 1);
    status_ = new QLabel(this);
    status_->setObjectName("localisationStatus");
    status_->setWordWrap(true);

    table_ = makeTable(
        {tr("Method"), tr("Hits / regions"), tr("Pointing accuracy"), tr("Energy pointing (mean)")},
        "localisationTable", this);
    regionTable_ = makeTable({tr("Region"), tr("Class")}, "localisationRegions", this);
    regionTable_->setToolTip(tr("Click a region to centre the view on it"));
    copyButton_ = new QPushButton(tr("Copy"), this);
    copyButton_->setObjectName("localisationCopy");
    exportButton_ = new QPushButton(tr("Export CSV…"), this);
    exportButton_->setObjectName("localisationExport");
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    buttons->addButton(copyButton_, QDialogButtonBox::ActionRole);
    buttons->addButton(exportButton_, QDialogButtonBox::ActionRole);

    auto* layout = new QVBoxLayout(this);
    auto* about = new QLabel(
        tr("Pointing game: a region is a hit when the heat's peak, in the window around it "
           "(its bounds with half its larger side on every side), lies inside it. Energy "
           "pointing: the share of that window's heat inside the region. The class explained "
           "is the panel's; stored heat is reused, other methods are explained here."),
        this);
    about->setWordWrap(true);
    layout->addWidget(about);
    layout->addLayout(form);
    layout->addLayout(runRow);
    layout->addWidget(status_);
    layout->addWidget(table_);
    layout->addWidget(regionTable_, 1);
    layout->addWidget(buttons);
    resize(620, 640);

    connect(runButton_, &QPushButton::clicked, this, &LocalisationDialog::run);
    connect(cancelButton_, &QPushButton::clicked, this, &LocalisationDialog::cancel);
    connect(copyButton_, &QPushButton::clicked, this,
            [this] { QApplication::clipboard()->setText(csv()); });
    connect(exportButton_, &QPushButton::clicked, this, &LocalisationDialog::chooseExport);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(&watcher_, &QFutureWatcherBase::finished, this, &LocalisationDialog::finish);
    connect(regionTable_, &QTableWidget::cellClicked, this,
            [this](int row, int) { centreOn(row); });
    if (auto* notes = ViewAnnotations::of(view); notes && notes->document())
        connect(notes->document(), &AnnotationDocument::changed, this,
                &LocalisationDialog::fillClasses);
    fillClasses();
    setRunning(false);
}

LocalisationDialog::~LocalisationDialog() {
    cancel_->store(true);
    watcher_.waitForFinished();
}

void LocalisationDialog::fillClasses() {
    const QString chosen = class_->currentData().toString();
    std::set<std::string> names;
    for (const LocalisationRegion& r : regionsOf({})) names.insert(r.className);
    class_->blockSignals(true);
    class_->clear();
    class_->addItem(tr("All classes"), QString());
    for (const std::string& n : names)
        if (!n.empty()) class_->addItem(QString::fromStdString(n), QString::fromStdString(n));
    class_->setCurrentIndex(std::max(0, class_->findData(chosen)));
    class_->blockSignals(false);
}

std::vector<LocalisationRegion> LocalisationDialog::regionsOf(const std::string& wanted) const {
    std::vector<LocalisationRegion> out;
    const ViewAnnotations* notes = view_ ? ViewAnnotations::of(view_) : nullptr;
    if (!notes || !notes->document()) return out;
    const int slice = base_.settings.slice;
    for (const Annotation& a : notes->document()->items()) {
        if (!a.geometry.isArea() || (a.slice >= 0 && a.slice != slice)) continue;
        if (!wanted.empty() && a.className != wanted) continue;
        out.push_back({a.id, a.name, a.className, a.geometry});
    }
    return out;
}

bool LocalisationDialog::isRunning() const { return watcher_.isRunning(); }

void LocalisationDialog::run() {
    if (isRunning()) return;
    LocalisationRequest request = base_;
    QStringList ticked;
    for (int i = 0; i < methods_->count(); ++i)
        if (methods_->item(i)->checkState() == Qt::Checked) {
            ticked << methods_->item(i)->data(Qt::UserRole).toString();
            request.methods.push_back(ticked.back().toStdString());
        }
    request.regions = regionsOf(class_->currentData().toString().toStdString());
    if (request.methods.empty() || request.regions.empty()) {
        status_->setText(request.methods.empty()
                             ? tr("Tick at least one method.")
                             : tr("No area annotation of this class on this image: draw or "
                                  "import the regions the model should point at."));
        return;
    }
    QSettings().setValue(kMethodsKey, ticked);
    scored_ = request.regions;
    scores_.clear();
    cancel_->store(false);
    failure_->clear();
    status_->setText(tr("Scoring %n region(s)…", "", int(scored_.size())));
    setRunning(true);
    auto source = source_;
    auto model = model_;
    auto stop = cancel_;
    QProgressBar* bar = progress_;
    auto failure = failure_;
    watcher_.setFuture(QtConcurrent::run(
        [=, request = std::move(request)]() -> std::optional<std::vector<MethodScore>> {
            LocalisationCallbacks cb;
            cb.cancelled = [stop] { return stop->load(); };
            // Queued to the bar (dropped if it is gone): the GUI is told, never polls.
            cb.progress = [bar](double s) {
                QMetaObject::invokeMethod(
                    bar, [bar, s] { bar->setValue(int(1000 * s)); }, Qt::QueuedConnection);
            };
            try {
                return scoreLocalisation(*source, *model, request, cb);
            } catch (const std::exception& e) {
                *failure = e.what();
                return std::nullopt;
            }
        }));
}

void LocalisationDialog::cancel() { cancel_->store(true); }

void LocalisationDialog::finish() {
    setRunning(false);
    const auto result = watcher_.result();
    if (result) {
        scores_ = *result;
        status_->setText(tr("%n region(s) scored.", "", int(scored_.size())));
    } else if (!failure_->empty()) {
        status_->setText(tr("Cannot score: %1").arg(QString::fromStdString(*failure_)));
    } else {
        status_->setText(tr("Cancelled."));
    }
    showScores();
    emit finished();
}

void LocalisationDialog::showScores() {
    table_->setRowCount(int(scores_.size()));
    for (int m = 0; m < int(scores_.size()); ++m) {
        const MethodScore& s = scores_[std::size_t(m)];
        const QStringList cells{methodTitle(s.method),
                                QString("%1 / %2").arg(s.hits()).arg(s.regions.size()),
                                percent(s.pointingAccuracy()), percent(s.energyMean())};
        for (int c = 0; c < cells.size(); ++c)
            table_->setItem(m, c, new QTableWidgetItem(cells[c]));
    }
    table_->resizeColumnsToContents();
    QStringList headers{tr("Region"), tr("Class")};
    for (const MethodScore& s : scores_) headers << methodTitle(s.method);
    regionTable_->setColumnCount(int(headers.size()));
    regionTable_->setHorizontalHeaderLabels(headers);
    regionTable_->setRowCount(scores_.empty() ? 0 : int(scored_.size()));
    for (int r = 0; r < regionTable_->rowCount(); ++r) {
        const LocalisationRegion& region = scored_[std::size_t(r)];
        const QString name =
            region.name.empty() ? tr("Region %1").arg(r + 1) : QString::fromStdString(region.name);
        regionTable_->setItem(r, 0, new QTableWidgetItem(name));
        regionTable_->setItem(r, 1, new QTableWidgetItem(QString::fromStdString(region.className)));
        for (std::size_t m = 0; m < scores_.size(); ++m) {
            const RegionScore& s = scores_[m].regions[std::size_t(r)];
            const QString text =
                !s.analysed ? tr("no heat (no tissue?)")
                            : (s.hit ? tr("hit, %1") : tr("miss, %1")).arg(percent(s.energy));
            regionTable_->setItem(r, int(m) + 2, new QTableWidgetItem(text));
        }
    }
    regionTable_->resizeColumnsToContents();
    copyButton_->setEnabled(!scores_.empty());
    exportButton_->setEnabled(!scores_.empty());
}

void LocalisationDialog::setRunning(bool running) {
    runButton_->setEnabled(!running);
    cancelButton_->setEnabled(running);
    class_->setEnabled(!running);
    methods_->setEnabled(!running);
    copyButton_->setEnabled(!running && !scores_.empty());
    exportButton_->setEnabled(!running && !scores_.empty());
    progress_->setValue(running ? 0 : (scores_.empty() ? 0 : 1000));
}

QString LocalisationDialog::csv() const {
    QString out = "method,hits,regions,pointing_accuracy,energy_pointing_mean\n";
    for (const MethodScore& s : scores_)
        out += QString("%1,%2,%3,%4,%5\n")
                   .arg(QString::fromStdString(s.method))
                   .arg(s.hits())
                   .arg(s.regions.size())
                   .arg(s.pointingAccuracy(), 0, 'g', 17)
                   .arg(s.energyMean(), 0, 'g', 17);
    return out;
}

QString LocalisationDialog::exportTo(const QString& path) const {
    try {
        writeFileAtomically(path.toStdString(), csv().toStdString());
        return {};
    } catch (const std::exception& e) {
        return QString::fromUtf8(e.what());
    }
}

void LocalisationDialog::chooseExport() {
    const QString path = QFileDialog::getSaveFileName(this, tr("Export Localisation"),
                                                      "localisation.csv", tr("CSV (*.csv)"));
    if (path.isEmpty()) return;
    const QString error = exportTo(path);
    status_->setText(error.isEmpty() ? tr("Written: %1").arg(path)
                                     : tr("Cannot write %1: %2").arg(path, error));
}

void LocalisationDialog::centreOn(int region) {
    if (!view_ || region < 0 || region >= int(scored_.size())) return;
    const Bounds b = boundsOf(scored_[std::size_t(region)].geometry);
    view_->setCentre((b.x0 + b.x1) / 2, (b.y0 + b.y1) / 2);
}

void LocalisationDialog::reject() {
    cancel();  // the worker ends within one batch; the destructor waits for it
    QDialog::reject();
}

void openLocalisationDialog(QWidget* parent, SlideView* view, const ModelSession& session) {
    const QString title = LocalisationDialog::tr("Localisation");
    if (!view) {
        QMessageBox::information(parent, title, LocalisationDialog::tr("Open an image first."));
        return;
    }
    if (!session.model()) {
        QMessageBox::information(
            parent, title, LocalisationDialog::tr("Open a model first (Analysis ▸ Open Model)."));
        return;
    }
    auto* dialog = new LocalisationDialog(view, session, parent);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->show();
}

}  // namespace lucida::ui
