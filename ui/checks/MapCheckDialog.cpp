#include "MapCheckDialog.h"

#include "ImageDocument.h"
#include "MapCheckCharts.h"
#include "MapCheckRun.h"
#include "SlideView.h"
#include "cam/CamMethod.h"
#include "io/AtomicFile.h"
#include "model/Model.h"

#include <QCloseEvent>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QMessageBox>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QVBoxLayout>

#include <cstring>

namespace lucida::ui {

namespace {
constexpr const char* kMethodKey = "mapCheck/method";
constexpr const char* kRemovalKey = "mapCheck/removal";
constexpr const char* kStepsKey = "mapCheck/steps";
constexpr const char* kStagesKey = "mapCheck/stages";
constexpr const char* kExportDirKey = "mapCheck/exportDir";
}  // namespace

MapCheckDialog::MapCheckDialog(std::shared_ptr<const Model> model, const SlideView* view,
                               const QString& method, int classIndex, QWidget* parent)
    : QDialog(parent),
      model_(std::move(model)),
      source_(view->document()->source()),
      slice_(view->document()->slice()),
      window_(view->document()->window()),
      targets_(mapCheckTargets(view, model_->spec())),
      run_(new MapCheckRun(this)) {
    setObjectName("mapCheckDialog");
    setWindowTitle(tr("Check This Map — %1").arg(view->document()->displayName()));
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(makeSettings());
    if (!method.isEmpty()) method_->setCurrentText(method);
    class_->setCurrentIndex(classIndex >= 0 ? classIndex + 1 : class_->count() - 1);

    auto* buttons = new QHBoxLayout;
    runButton_ = new QPushButton(tr("&Run Check"));
    runButton_->setObjectName("mapCheckRun");
    cancelButton_ = new QPushButton(tr("&Cancel Check"));
    cancelButton_->setObjectName("mapCheckCancel");
    exportButton_ = new QPushButton(tr("&Export…"));
    exportButton_->setObjectName("mapCheckExport");
    exportButton_->setToolTip(tr("The numbers as lucida-cli check writes them: JSON and CSV"));
    auto* close = new QPushButton(tr("Close"));
    progress_ = new QProgressBar;
    progress_->setRange(0, 1000);
    buttons->addWidget(runButton_);
    buttons->addWidget(cancelButton_);
    buttons->addWidget(progress_, 1);
    buttons->addWidget(exportButton_);
    buttons->addWidget(close);
    layout->addLayout(buttons);
    status_ = new QLabel;
    status_->setObjectName("mapCheckStatus");
    layout->addWidget(status_);

    auto* charts = new QHBoxLayout;
    randomisationChart_ = new RandomisationChart;
    faithfulnessChart_ = new FaithfulnessChart;
    charts->addWidget(randomisationChart_);
    charts->addWidget(faithfulnessChart_);
    layout->addLayout(charts, 1);
    for (QLabel** label : {&verdict_, &faithfulnessVerdict_}) {
        *label = new QLabel;
        (*label)->setWordWrap(true);
        (*label)->setTextInteractionFlags(Qt::TextSelectableByMouse);
        layout->addWidget(*label);
    }
    verdict_->setObjectName("mapCheckVerdict");
    faithfulnessVerdict_->setObjectName("mapCheckFaithfulnessVerdict");

    connect(runButton_, &QPushButton::clicked, this, &MapCheckDialog::run);
    connect(cancelButton_, &QPushButton::clicked, this, &MapCheckDialog::cancel);
    connect(exportButton_, &QPushButton::clicked, this, &MapCheckDialog::chooseExport);
    connect(close, &QPushButton::clicked, this, &MapCheckDialog::reject);
    connect(run_, &MapCheckRun::progressed, this, [this](double share, const QString& what) {
        progress_->setValue(static_cast<int>(share * 1000));
        status_->setText(what);
    });
    connect(run_, &MapCheckRun::finished, this, [this] {
        setRunning(false);
        showResult();
    });
    connect(run_, &MapCheckRun::cancelled, this, [this] {
        setRunning(false);
        status_->setText(tr("Cancelled."));
    });
    connect(run_, &MapCheckRun::failed, this, [this](const QString& message) {
        setRunning(false);
        status_->setText(tr("The check failed: %1").arg(message));
    });
    setRunning(false);
    status_->setText(
        tr("Each randomisation stage explains the image again; each curve point is "
           "one forward pass."));
    resize(1100, 760);
}

MapCheckDialog::~MapCheckDialog() = default;  // run_ (a child) cancels and waits

QWidget* MapCheckDialog::makeSettings() {
    auto* box = new QWidget;
    auto* form = new QFormLayout(box);
    QSettings settings;
    target_ = new QComboBox;
    target_->setObjectName("mapCheckTarget");
    for (const MapCheckTarget& t : targets_) target_->addItem(t.label);
    target_->setCurrentIndex(target_->count() - 1);  // the most specific: region, patch, image
    form->addRow(tr("Check:"), target_);
    method_ = new QComboBox;
    method_->setObjectName("mapCheckMethod");
    for (const std::string& m : camMethodNames()) method_->addItem(QString::fromStdString(m));
    method_->setCurrentText(settings.value(kMethodKey, "gradcam").toString());
    form->addRow(tr("Method:"), method_);
    class_ = new QComboBox;
    class_->setObjectName("mapCheckClass");
    class_->addItem(tr("auto (the predicted class)"));
    for (const std::string& c : model_->spec().classes) class_->addItem(QString::fromStdString(c));
    form->addRow(tr("Class:"), class_);
    removal_ = new QComboBox;
    removal_->setObjectName("mapCheckRemoval");
    removal_->addItem(tr("blur"), "blur");
    removal_->addItem(tr("mean"), "mean");
    removal_->addItem(tr("ROAD (noisy linear imputation)"), "road");
    removal_->setCurrentIndex(std::max(0, removal_->findData(settings.value(kRemovalKey, "blur"))));
    removal_->setToolTip(
        tr("What removed pixels become: a Gaussian blur of the image, or each "
           "channel's mean"));
    form->addRow(tr("Removed pixels become:"), removal_);
    steps_ = new QSpinBox;
    steps_->setObjectName("mapCheckSteps");
    steps_->setRange(1, 1000);
    steps_->setValue(settings.value(kStepsKey, 32).toInt());
    form->addRow(tr("Curve steps:"), steps_);
    stages_ = new QSpinBox;
    stages_->setObjectName("mapCheckStages");
    stages_->setRange(0, 1000);
    stages_->setSpecialValueText(tr("every block"));
    stages_->setValue(settings.value(kStagesKey, 0).toInt());
    form->addRow(tr("Randomisation stages:"), stages_);
    return box;
}

void MapCheckDialog::saveSettings() const {
    QSettings settings;
    settings.setValue(kMethodKey, method_->currentText());
    settings.setValue(kRemovalKey, removal_->currentData());
    settings.setValue(kStepsKey, steps_->value());
    settings.setValue(kStagesKey, stages_->value());
}

bool MapCheckDialog::isRunning() const { return run_->isRunning(); }

void MapCheckDialog::setRunning(bool running) {
    runButton_->setEnabled(!running);
    cancelButton_->setEnabled(running);
    exportButton_->setEnabled(!running && hasResult_);
    for (QWidget* w :
         std::initializer_list<QWidget*>{target_, method_, class_, removal_, steps_, stages_})
        w->setEnabled(!running);
    if (!running) progress_->setValue(0);
}

void MapCheckDialog::run() {
    if (run_->isRunning() || targets_.empty()) return;
    saveSettings();
    MapCheckRequest request;
    request.model = model_;
    request.source = source_;
    request.target = targets_.at(static_cast<std::size_t>(target_->currentIndex()));
    request.slice = slice_;
    request.window = window_;
    request.options.method = method_->currentText().toStdString();
    request.options.classIndex = class_->currentIndex() - 1;  // 0: auto
    request.options.stages = stages_->value();
    request.options.faithfulness.removal =
        removalFromName(removal_->currentData().toString().toStdString());
    request.options.faithfulness.steps = steps_->value();
    checked_ = request.target;
    hasResult_ = false;
    randomisationChart_->clear();
    faithfulnessChart_->clear();
    verdict_->clear();
    faithfulnessVerdict_->clear();
    setRunning(true);
    status_->setText(tr("Starting…"));
    run_->start(std::move(request));
}

void MapCheckDialog::cancel() {
    if (!run_->isRunning()) return;
    run_->cancel();
    status_->setText(tr("Cancelling…"));
}

void MapCheckDialog::showResult() {
    result_ = run_->result();
    hasResult_ = true;
    randomisationChart_->show(result_.randomisation);
    faithfulnessChart_->show(result_.faithfulness);
    verdict_->setText(QString::fromStdString(result_.randomisation.verdict));
    faithfulnessVerdict_->setText(faithfulnessVerdict(result_.faithfulness));
    status_->setText(tr("%1 of %2 (p = %3) at %4.")
                         .arg(QString::fromStdString(result_.method))
                         .arg(QString::fromStdString(
                             result_.classes.at(static_cast<std::size_t>(result_.explainedClass))))
                         .arg(result_.probability, 0, 'f', 3)
                         .arg(QString::fromStdString(result_.layer)));
    exportButton_->setEnabled(true);
}

QString MapCheckDialog::imageLabel() const {
    const QString path = QString::fromStdString(source_->info().path);
    if (checked_.kind == MapCheckTarget::Kind::WholeImage) return path;
    return QString("%1#%2,%3,%4,%5")
        .arg(path)
        .arg(checked_.x, 0, 'f', 0)
        .arg(checked_.y, 0, 'f', 0)
        .arg(checked_.w, 0, 'f', 0)
        .arg(checked_.h, 0, 'f', 0);
}

QString MapCheckDialog::exportTo(const QString& jsonPath) const {
    if (!hasResult_) return tr("There is no finished check to export.");
    QString stem = jsonPath;
    if (stem.endsWith(".check.json")) stem.chop(int(std::strlen(".check.json")));
    try {
        writeFileAtomically((stem + ".check.json").toStdString(),
                            mapCheckJson(result_, imageLabel().toStdString(), model_->path()));
        writeFileAtomically((stem + ".randomisation.csv").toStdString(),
                            randomisationCsv(result_.randomisation));
        writeFileAtomically((stem + ".faithfulness.csv").toStdString(),
                            faithfulnessCsv(result_.faithfulness));
    } catch (const std::exception& e) {
        return QString::fromUtf8(e.what());
    }
    return {};
}

void MapCheckDialog::chooseExport() {
    QSettings settings;
    const QString name = QFileInfo(QString::fromStdString(source_->info().path)).fileName();
    const QString start = settings.value(kExportDirKey).toString();
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Export Map Check"),
        (start.isEmpty() ? QString() : start + "/") + name + ".check.json",
        tr("Map check (*.check.json)"));
    if (path.isEmpty()) return;
    settings.setValue(kExportDirKey, QFileInfo(path).absolutePath());
    if (const QString error = exportTo(path); !error.isEmpty())
        QMessageBox::warning(this, tr("Export Map Check"), error);
    else
        status_->setText(tr("Written: %1 and the two CSV files beside it.").arg(path));
}

void MapCheckDialog::closeEvent(QCloseEvent* event) {
    run_->cancel();
    QDialog::closeEvent(event);
}

void MapCheckDialog::reject() {
    run_->cancel();  // the worker ends within one explanation; run_'s destructor waits for it
    QDialog::reject();
}

void openMapCheckDialog(QWidget* parent, const SlideView* view, std::shared_ptr<const Model> model,
                        const QString& method, int classIndex) {
    if (!view) {
        QMessageBox::information(parent, MapCheckDialog::tr("Check This Map"),
                                 MapCheckDialog::tr("Open an image first."));
        return;
    }
    if (!model) {
        QMessageBox::information(parent, MapCheckDialog::tr("Check This Map"),
                                 MapCheckDialog::tr("Open a model first (Analysis ▸ Open Model)."));
        return;
    }
    auto* dialog = new MapCheckDialog(std::move(model), view, method, classIndex, parent);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setWindowModality(Qt::WindowModal);
    dialog->show();
}

}  // namespace lucida::ui
