#include "TrainingModelPage.h"

#include "TrainingDataPage.h"

#include <QButtonGroup>
#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QRadioButton>
#include <QSettings>
#include <QSpinBox>
#include <QVBoxLayout>

namespace lucida::ui {

namespace {
QString pickFile(QWidget* parent, const QString& title, const QString& current,
                 const QString& filter) {
    QString start = current;
    if (start.isEmpty()) start = QSettings().value("training/lastModelDir").toString();
    const QString path = QFileDialog::getOpenFileName(parent, title, start, filter);
    if (!path.isEmpty())
        QSettings().setValue("training/lastModelDir", QFileInfo(path).absolutePath());
    return path;
}

QWidget* fileRow(QLineEdit* edit, QPushButton* browse) {
    auto* row = new QWidget;
    auto* layout = new QHBoxLayout(row);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(edit, 1);
    layout->addWidget(browse);
    return row;
}
}  // namespace

TrainingModelPage::TrainingModelPage(const TrainingDataPage* data, QWidget* parent)
    : QWizardPage(parent), data_(data) {
    setTitle(tr("Model"));
    setSubTitle(
        tr("The network to train. A new head with one output per class replaces the "
           "classifier of pretrained or fine-tuned networks."));

    architecture_ = new QComboBox(this);
    architecture_->setObjectName("architecture");
    architecture_->addItem(tr("ResNet-18"), "resnet18");
    architecture_->addItem(tr("ResNet-34"), "resnet34");
    architecture_->addItem(tr("ResNet-50"), "resnet50");
    architecture_->addItem(tr("Small CNN (fast; small images, few examples)"), "smallcnn");
    architecture_->addItem(tr("Fine-tune an existing model file (.pt / .pth)"), "file");

    weightsBox_ = new QGroupBox(tr("Initial weights"), this);
    scratch_ = new QRadioButton(tr("From &scratch (random initialisation)"), weightsBox_);
    pretrained_ = new QRadioButton(tr("From &torchvision weights (.pth state_dict):"), weightsBox_);
    auto* weightsGroup = new QButtonGroup(this);
    weightsGroup->addButton(scratch_);
    weightsGroup->addButton(pretrained_);
    scratch_->setChecked(true);
    weightsEdit_ = new QLineEdit(weightsBox_);
    weightsEdit_->setObjectName("initWeights");
    weightsEdit_->setPlaceholderText(tr("e.g. resnet18-f37072fd.pth"));
    weightsBrowse_ = new QPushButton(tr("Browse…"), weightsBox_);
    auto* weightsLayout = new QVBoxLayout(weightsBox_);
    weightsLayout->addWidget(scratch_);
    weightsLayout->addWidget(pretrained_);
    weightsLayout->addWidget(fileRow(weightsEdit_, weightsBrowse_));

    fileBox_ = new QGroupBox(tr("Model to fine-tune"), this);
    baseModelEdit_ = new QLineEdit(fileBox_);
    baseModelEdit_->setObjectName("baseModel");
    baseModelEdit_->setPlaceholderText(
        tr("a model trained by Lucida, a TorchScript file or a torchvision ResNet .pth"));
    auto* baseBrowse = new QPushButton(tr("Browse…"), fileBox_);
    auto* fileLayout = new QVBoxLayout(fileBox_);
    fileLayout->addWidget(fileRow(baseModelEdit_, baseBrowse));

    inputSize_ = new QSpinBox(this);
    inputSize_->setObjectName("inputSize");
    inputSize_->setRange(16, 1024);
    inputSize_->setSuffix(tr(" px"));
    inputSize_->setValue(224);
    inputSize_->setToolTip(tr("Images are resized to this square size (after augmentation)."));

    binaryBox_ = new QGroupBox(tr("Output for two classes"), this);
    sigmoid_ = new QRadioButton(tr("One logit with a sigmoid (binary cross-entropy)"), binaryBox_);
    softmax_ = new QRadioButton(tr("Two outputs with a softmax (cross-entropy)"), binaryBox_);
    sigmoid_->setObjectName("sigmoidOutput");
    softmax_->setObjectName("softmaxOutput");
    auto* binaryGroup = new QButtonGroup(this);
    binaryGroup->addButton(sigmoid_);
    binaryGroup->addButton(softmax_);
    sigmoid_->setChecked(true);
    auto* binaryLayout = new QVBoxLayout(binaryBox_);
    binaryLayout->addWidget(sigmoid_);
    binaryLayout->addWidget(softmax_);

    freeze_ = new QSpinBox(this);
    freeze_->setObjectName("freezeEpochs");
    freeze_->setRange(0, 1000);
    freeze_->setSpecialValueText(tr("no (everything trains from the start)"));
    freeze_->setSuffix(tr(" epoch(s)"));
    freeze_->setToolTip(
        tr("Only the new head trains during the first N epochs; then the whole "
           "network. Useful with pretrained weights."));

    error_ = new QLabel(this);
    error_->setObjectName("modelError");
    error_->setWordWrap(true);
    error_->setStyleSheet("color: #c62828; font-weight: bold;");
    error_->hide();

    auto* form = new QFormLayout;
    form->setFieldGrowthPolicy(QFormLayout::FieldsStayAtSizeHint);
    form->addRow(tr("&Architecture:"), architecture_);
    form->addRow(weightsBox_);
    form->addRow(fileBox_);
    form->addRow(tr("&Input size:"), inputSize_);
    form->addRow(binaryBox_);
    form->addRow(tr("&Freeze the backbone for:"), freeze_);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(error_);
    layout->addStretch(1);

    QSettings settings;
    settings.beginGroup("training");
    const int index = architecture_->findData(settings.value("architecture", "resnet18"));
    architecture_->setCurrentIndex(std::max(0, index));
    previousArchitecture_ = architecture();
    weightsEdit_->setText(settings.value("initWeights").toString());
    (settings.value("pretrained", false).toBool() ? pretrained_ : scratch_)->setChecked(true);
    baseModelEdit_->setText(settings.value("baseModel").toString());
    inputSize_->setValue(settings.value("inputSize", defaultInputSize(architecture())).toInt());
    (settings.value("binaryOutput", "sigmoid").toString() == "softmax" ? softmax_ : sigmoid_)
        ->setChecked(true);
    freeze_->setValue(settings.value("freezeEpochs", 0).toInt());
    settings.endGroup();

    connect(architecture_, &QComboBox::currentIndexChanged, this,
            &TrainingModelPage::architectureChanged);
    connect(scratch_, &QRadioButton::toggled, this, &TrainingModelPage::updateState);
    connect(weightsEdit_, &QLineEdit::textChanged, this, &TrainingModelPage::updateState);
    connect(baseModelEdit_, &QLineEdit::textChanged, this, &TrainingModelPage::updateState);
    connect(weightsBrowse_, &QPushButton::clicked, this, [this] {
        const QString p = pickFile(this, tr("Torchvision Weights"), weightsEdit_->text(),
                                   tr("PyTorch weights (*.pth *.pt);;All files (*)"));
        if (p.isEmpty()) return;
        weightsEdit_->setText(p);
        pretrained_->setChecked(true);
    });
    connect(baseBrowse, &QPushButton::clicked, this, [this] {
        const QString p = pickFile(this, tr("Model to Fine-tune"), baseModelEdit_->text(),
                                   tr("Models (*.pt *.pth);;All files (*)"));
        if (!p.isEmpty()) baseModelEdit_->setText(p);
    });
    updateState();
}

int TrainingModelPage::defaultInputSize(const QString& architecture) {
    return architecture == "smallcnn" ? 128 : 224;
}

QString TrainingModelPage::architecture() const { return architecture_->currentData().toString(); }

void TrainingModelPage::setArchitecture(const QString& architecture) {
    const int index = architecture_->findData(architecture);
    if (index >= 0) architecture_->setCurrentIndex(index);
}

void TrainingModelPage::setInitWeights(const QString& path) {
    weightsEdit_->setText(path);
    (path.isEmpty() ? scratch_ : pretrained_)->setChecked(true);
}

void TrainingModelPage::setBaseModel(const QString& path) { baseModelEdit_->setText(path); }

void TrainingModelPage::setSoftmax(bool softmax) {
    (softmax ? softmax_ : sigmoid_)->setChecked(true);
}

bool TrainingModelPage::binaryChoiceVisible() const { return !binaryBox_->isHidden(); }

QString TrainingModelPage::errorText() const {
    return error_->isHidden() ? QString() : error_->text();
}

void TrainingModelPage::architectureChanged() {
    // Follow the architecture's usual size unless the user chose another one.
    if (inputSize_->value() == defaultInputSize(previousArchitecture_))
        inputSize_->setValue(defaultInputSize(architecture()));
    previousArchitecture_ = architecture();
    updateState();
}

void TrainingModelPage::initializePage() {
    binaryBox_->setVisible(data_->classes().size() == 2);
    updateState();
}

void TrainingModelPage::updateState() {
    const QString arch = architecture();
    const bool resnet = arch.startsWith("resnet");
    weightsBox_->setVisible(resnet);
    fileBox_->setVisible(arch == "file");
    weightsEdit_->setEnabled(pretrained_->isChecked());
    weightsBrowse_->setEnabled(pretrained_->isChecked());
    // A backbone without weights has nothing worth keeping frozen.
    const bool hasWeights = arch == "file" || (resnet && pretrained_->isChecked());
    freeze_->setEnabled(hasWeights);

    QString problem;
    if (resnet && pretrained_->isChecked()) {
        const QString path = weightsEdit_->text().trimmed();
        if (path.isEmpty())
            problem = tr("Choose the torchvision weights file, or train from scratch.");
        else if (!QFileInfo(path).isFile())
            problem = tr("%1: no such file.").arg(path);
    } else if (arch == "file") {
        const QString path = baseModelEdit_->text().trimmed();
        if (path.isEmpty())
            problem = tr("Choose the model file to fine-tune.");
        else if (!QFileInfo(path).isFile())
            problem = tr("%1: no such file.").arg(path);
    }
    error_->setText(problem);
    error_->setVisible(!problem.isEmpty());
    emit completeChanged();
}

bool TrainingModelPage::isComplete() const { return error_->isHidden(); }

bool TrainingModelPage::validatePage() { return isComplete(); }

void TrainingModelPage::apply(TrainOptions& options) const {
    const QString arch = architecture();
    options.architecture = arch.toStdString();
    options.initWeights = arch.startsWith("resnet") && pretrained_->isChecked()
                              ? weightsEdit_->text().trimmed().toStdString()
                              : std::string();
    options.baseModel =
        arch == "file" ? baseModelEdit_->text().trimmed().toStdString() : std::string();
    options.inputSize = inputSize_->value();
    options.binaryOutput = softmax_->isChecked() && !binaryBox_->isHidden() ? "softmax" : "sigmoid";
    options.freezeBackboneEpochs = freeze_->isEnabled() ? freeze_->value() : 0;
}

void TrainingModelPage::saveSettings() const {
    QSettings settings;
    settings.beginGroup("training");
    settings.setValue("architecture", architecture());
    settings.setValue("pretrained", pretrained_->isChecked());
    settings.setValue("initWeights", weightsEdit_->text().trimmed());
    settings.setValue("baseModel", baseModelEdit_->text().trimmed());
    settings.setValue("inputSize", inputSize_->value());
    settings.setValue("binaryOutput", softmax_->isChecked() ? "softmax" : "sigmoid");
    settings.setValue("freezeEpochs", freeze_->value());
    settings.endGroup();
}

}  // namespace lucida::ui
