#include "TrainingSettingsPage.h"

#include "train/Trainer.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QRegularExpressionValidator>
#include <QSettings>
#include <QSpinBox>
#include <QStandardPaths>
#include <QVBoxLayout>

#include <cstdint>
#include <limits>

namespace lucida::ui {

namespace {
QDoubleSpinBox* doubleBox(QWidget* parent, double min, double max, double step, int decimals,
                          double value) {
    auto* box = new QDoubleSpinBox(parent);
    box->setRange(min, max);
    box->setSingleStep(step);
    box->setDecimals(decimals);
    box->setValue(value);
    return box;
}

QWidget* row(std::initializer_list<QWidget*> widgets) {
    auto* w = new QWidget;
    auto* layout = new QHBoxLayout(w);
    layout->setContentsMargins(0, 0, 0, 0);
    for (QWidget* child : widgets) layout->addWidget(child);
    layout->addStretch(1);
    return w;
}

QLabel* small(const QString& text) { return new QLabel(text); }
}  // namespace

TrainingSettingsPage::TrainingSettingsPage(QWidget* parent) : QWizardPage(parent) {
    setTitle(tr("Training settings"));
    setSubTitle(
        tr("How long and how to train, which augmentations to apply to the training "
           "images, and where to write the model."));

    auto* training = makeOptimisationGroup();
    auto* augment = makeAugmentationGroup();

    classWeights_ = new QCheckBox(tr("Weight the loss by inverse class frequency"), this);
    patience_ = new QSpinBox(this);
    patience_->setObjectName("patience");
    patience_->setRange(0, 1000);
    patience_->setSpecialValueText(tr("off"));
    patience_->setSuffix(tr(" epoch(s) without a better validation loss"));
    seed_ = new QSpinBox(this);
    seed_->setObjectName("seed");
    seed_->setRange(0, std::numeric_limits<int>::max());
    seed_->setValue(42);
    seed_->setToolTip(tr("The same as the data page's: split, shuffling and augmentations."));

    outDir_ = new QLineEdit(this);
    outDir_->setObjectName("outputFolder");
    auto* outBrowse = new QPushButton(tr("Browse…"), this);
    modelName_ = new QLineEdit(this);
    modelName_->setObjectName("modelName");
    modelName_->setValidator(new QRegularExpressionValidator(
        QRegularExpression(QStringLiteral("[A-Za-z0-9_][A-Za-z0-9_.-]*")), modelName_));
    resume_ = new QLineEdit(this);
    resume_->setObjectName("resumeFrom");
    resume_->setPlaceholderText(tr("start a new training"));
    auto* resumeBrowse = new QPushButton(tr("Resume from &Checkpoint…"), this);
    auto* outRow = new QWidget(this);
    auto* outLayout = new QHBoxLayout(outRow);
    outLayout->setContentsMargins(0, 0, 0, 0);
    outLayout->addWidget(outDir_, 1);
    outLayout->addWidget(outBrowse);
    auto* resumeRow = new QWidget(this);
    auto* resumeLayout = new QHBoxLayout(resumeRow);
    resumeLayout->setContentsMargins(0, 0, 0, 0);
    resumeLayout->addWidget(resume_, 1);
    resumeLayout->addWidget(resumeBrowse);

    auto* other = new QGroupBox(tr("Other"), this);
    auto* otherForm = new QFormLayout(other);
    otherForm->setFieldGrowthPolicy(QFormLayout::FieldsStayAtSizeHint);
    otherForm->addRow(classWeights_);
    otherForm->addRow(tr("Early s&topping:"), patience_);
    otherForm->addRow(tr("See&d:"), seed_);

    note_ = new QLabel(this);
    note_->setWordWrap(true);
    error_ = new QLabel(this);
    error_->setObjectName("settingsError");
    error_->setWordWrap(true);
    error_->setStyleSheet("color: #c62828; font-weight: bold;");
    error_->hide();

    auto* output = new QGroupBox(tr("Output"), this);
    auto* outputForm = new QFormLayout(output);
    outputForm->addRow(tr("O&utput folder:"), outRow);
    outputForm->addRow(tr("Model &name:"), modelName_);
    outputForm->addRow(tr("Resume:"), resumeRow);
    outputForm->addRow(note_);
    outputForm->addRow(error_);

    auto* columns = new QHBoxLayout;
    auto* left = new QVBoxLayout;
    left->addWidget(training);
    left->addWidget(other);
    left->addStretch(1);
    auto* right = new QVBoxLayout;
    right->addWidget(augment);
    right->addWidget(output);
    right->addStretch(1);
    columns->addLayout(left, 2);
    columns->addLayout(right, 3);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(columns);

    restoreSettings();

    connect(outBrowse, &QPushButton::clicked, this, [this] {
        const QString dir =
            QFileDialog::getExistingDirectory(this, tr("Output Folder"), outDir_->text());
        if (!dir.isEmpty()) outDir_->setText(QDir::toNativeSeparators(dir));
    });
    connect(resumeBrowse, &QPushButton::clicked, this, [this] {
        const QString start = resume_->text().isEmpty() ? outDir_->text() : resume_->text();
        const QString path = QFileDialog::getOpenFileName(this, tr("Resume from Checkpoint"), start,
                                                          tr("Checkpoints (*.pt);;All files (*)"));
        if (!path.isEmpty()) setResumeFrom(path);
    });
    for (QLineEdit* e : {outDir_, modelName_, resume_})
        connect(e, &QLineEdit::textChanged, this, &TrainingSettingsPage::updateState);
    for (QCheckBox* c : {colour_, stain_, crop_})
        connect(c, &QCheckBox::toggled, this, &TrainingSettingsPage::updateState);
    connect(schedule_, &QComboBox::currentIndexChanged, this, &TrainingSettingsPage::updateState);
    updateState();
}

QGroupBox* TrainingSettingsPage::makeOptimisationGroup() {
    epochs_ = new QSpinBox(this);
    epochs_->setObjectName("epochs");
    epochs_->setRange(1, 10000);
    epochs_->setValue(10);
    batch_ = new QSpinBox(this);
    batch_->setObjectName("batchSize");
    batch_->setRange(1, 4096);
    batch_->setValue(32);
    optimizer_ = new QComboBox(this);
    optimizer_->setObjectName("optimizer");
    optimizer_->addItem(tr("AdamW"), "adamw");
    optimizer_->addItem(tr("Adam"), "adam");
    optimizer_->addItem(tr("SGD (momentum 0.9)"), "sgd");
    learningRate_ = doubleBox(this, 1e-7, 10, 1e-4, 7, 1e-3);
    learningRate_->setObjectName("learningRate");
    weightDecay_ = doubleBox(this, 0, 1, 1e-4, 6, 1e-4);
    weightDecay_->setObjectName("weightDecay");
    schedule_ = new QComboBox(this);
    schedule_->setObjectName("schedule");
    schedule_->addItem(tr("Cosine annealing"), "cosine");
    schedule_->addItem(tr("Step"), "step");
    schedule_->addItem(tr("Constant"), "none");
    stepEpochs_ = new QSpinBox(this);
    stepEpochs_->setRange(1, 1000);
    stepEpochs_->setValue(5);
    stepEpochs_->setPrefix(tr("every "));
    stepEpochs_->setSuffix(tr(" epoch(s)"));
    stepGamma_ = doubleBox(this, 0.001, 1, 0.05, 3, 0.1);
    stepGamma_->setPrefix(tr("× "));

    auto* training = new QGroupBox(tr("Optimisation"), this);
    auto* trainingForm = new QFormLayout(training);
    trainingForm->setFieldGrowthPolicy(QFormLayout::FieldsStayAtSizeHint);
    trainingForm->addRow(tr("&Epochs:"), epochs_);
    trainingForm->addRow(tr("&Batch size:"), batch_);
    trainingForm->addRow(tr("&Optimiser:"), optimizer_);
    trainingForm->addRow(tr("&Learning rate:"), learningRate_);
    trainingForm->addRow(tr("&Weight decay:"), weightDecay_);
    trainingForm->addRow(tr("&Schedule:"), schedule_);
    trainingForm->addRow(tr("Step:"), row({stepEpochs_, stepGamma_}));
    return training;
}

QGroupBox* TrainingSettingsPage::makeAugmentationGroup() {
    hflip_ = new QCheckBox(tr("Horizontal flips"), this);
    vflip_ = new QCheckBox(tr("Vertical flips"), this);
    rotate_ = new QCheckBox(tr("90° rotations"), this);
    colour_ = new QCheckBox(tr("Colour jitter"), this);
    brightness_ = doubleBox(this, 0, 1, 0.05, 2, 0.2);
    contrast_ = doubleBox(this, 0, 1, 0.05, 2, 0.2);
    saturation_ = doubleBox(this, 0, 1, 0.05, 2, 0.2);
    hue_ = doubleBox(this, 0, 0.5, 0.01, 2, 0.02);
    stain_ = new QCheckBox(tr("H&&E stain jitter"), this);
    stain_->setToolTip(
        tr("Haematoxylin/eosin/DAB densities scaled by U(1-σ, 1+σ) and shifted by "
           "U(-b, b) (Tellez et al. 2018)."));
    stainSigma_ = doubleBox(this, 0, 1, 0.01, 3, 0.05);
    stainBias_ = doubleBox(this, 0, 1, 0.01, 3, 0.05);
    crop_ = new QCheckBox(tr("Random resized crop"), this);
    cropMin_ = doubleBox(this, 0.05, 0.99, 0.05, 2, 0.5);
    hflip_->setObjectName("hflip");
    vflip_->setObjectName("vflip");
    rotate_->setObjectName("rotate90");
    colour_->setObjectName("colourJitter");
    stain_->setObjectName("stainJitter");
    crop_->setObjectName("randomCrop");

    auto* augment = new QGroupBox(tr("Augmentation (training images only)"), this);
    auto* augmentGrid = new QGridLayout(augment);
    augmentGrid->addWidget(row({hflip_, vflip_, rotate_}), 0, 0, 1, 2);
    augmentGrid->addWidget(colour_, 1, 0);
    augmentGrid->addWidget(
        row({small(tr("brightness")), brightness_, small(tr("contrast")), contrast_,
             small(tr("saturation")), saturation_, small(tr("hue")), hue_}),
        1, 1);
    augmentGrid->addWidget(stain_, 2, 0);
    augmentGrid->addWidget(row({small(tr("σ")), stainSigma_, small(tr("bias")), stainBias_}), 2, 1);
    augmentGrid->addWidget(crop_, 3, 0);
    augmentGrid->addWidget(row({small(tr("minimum area")), cropMin_}), 3, 1);
    augmentGrid->setColumnStretch(1, 1);
    return augment;
}

void TrainingSettingsPage::restoreSettings() {
    QSettings s;
    s.beginGroup("training");
    epochs_->setValue(s.value("epochs", 10).toInt());
    batch_->setValue(s.value("batchSize", 32).toInt());
    optimizer_->setCurrentIndex(std::max(0, optimizer_->findData(s.value("optimizer", "adamw"))));
    learningRate_->setValue(s.value("learningRate", 1e-3).toDouble());
    weightDecay_->setValue(s.value("weightDecay", 1e-4).toDouble());
    schedule_->setCurrentIndex(std::max(0, schedule_->findData(s.value("schedule", "cosine"))));
    stepEpochs_->setValue(s.value("stepEpochs", 5).toInt());
    stepGamma_->setValue(s.value("stepGamma", 0.1).toDouble());
    hflip_->setChecked(s.value("hflip", true).toBool());
    vflip_->setChecked(s.value("vflip", true).toBool());
    rotate_->setChecked(s.value("rotate90", true).toBool());
    colour_->setChecked(s.value("colourJitter", false).toBool());
    brightness_->setValue(s.value("brightness", 0.2).toDouble());
    contrast_->setValue(s.value("contrast", 0.2).toDouble());
    saturation_->setValue(s.value("saturation", 0.2).toDouble());
    hue_->setValue(s.value("hue", 0.02).toDouble());
    stain_->setChecked(s.value("stainJitter", false).toBool());
    stainSigma_->setValue(s.value("stainSigma", 0.05).toDouble());
    stainBias_->setValue(s.value("stainBias", 0.05).toDouble());
    crop_->setChecked(s.value("randomCrop", false).toBool());
    cropMin_->setValue(s.value("cropScaleMin", 0.5).toDouble());
    classWeights_->setChecked(s.value("classWeights", false).toBool());
    patience_->setValue(s.value("patience", 0).toInt());
    seed_->setValue(s.value("seed", 42).toInt());
    outDir_->setText(s.value("outputFolder", QDir(QStandardPaths::writableLocation(
                                                      QStandardPaths::DocumentsLocation))
                                                 .filePath("lucida-models"))
                         .toString());
    // An earlier run's name is not offered again: the next free one is (model-2, model-3, …).
    const QString remembered = s.value("modelName", "model").toString();
    modelName_->setText(QString::fromStdString(
        freeModelName(QDir::fromNativeSeparators(outDir_->text().trimmed()).toStdString(),
                      remembered.toStdString())));
    s.endGroup();
}

void TrainingSettingsPage::setResumeFrom(const QString& checkpoint) {
    resume_->setText(checkpoint);
}

QString TrainingSettingsPage::errorText() const {
    return error_->isHidden() ? QString() : error_->text();
}

void TrainingSettingsPage::updateState() {
    for (QWidget* w : {static_cast<QWidget*>(brightness_), static_cast<QWidget*>(contrast_),
                       static_cast<QWidget*>(saturation_), static_cast<QWidget*>(hue_)})
        w->setEnabled(colour_->isChecked());
    stainSigma_->setEnabled(stain_->isChecked());
    stainBias_->setEnabled(stain_->isChecked());
    cropMin_->setEnabled(crop_->isChecked());
    const bool step = schedule_->currentData().toString() == "step";
    stepEpochs_->setEnabled(step);
    stepGamma_->setEnabled(step);

    QString problem, note;
    const QString out = outDir_->text().trimmed(), name = modelName_->text().trimmed();
    const QString resume = resume_->text().trimmed();
    if (out.isEmpty())
        problem = tr("Choose the output folder.");
    else if (QFileInfo(out).exists() && !QFileInfo(out).isDir())
        problem = tr("%1 is a file, not a folder.").arg(out);
    else if (name.isEmpty())
        problem = tr("Give the model a name.");
    else if (!resume.isEmpty() && !QFileInfo(resume).isFile())
        problem = tr("%1: no such checkpoint.").arg(resume);
    if (problem.isEmpty()) {
        const QString model = QDir(out).filePath(name + ".pth");
        if (!existingTrainingOutputs(QDir::fromNativeSeparators(out).toStdString(),
                                     name.toStdString())
                 .empty())
            note = isOverwriteConfirmed()
                       ? tr("An earlier training named %1 is here; its files will be replaced.")
                             .arg(name)
                       : tr("An earlier training named %1 is here: you will be asked before its "
                            "files are replaced.")
                             .arg(name);
        else
            note = tr("The model will be written to %1.").arg(QDir::toNativeSeparators(model));
        if (!resume.isEmpty()) note += " " + tr("Training continues from %1.").arg(resume);
    }
    note_->setText(note);
    error_->setText(problem);
    error_->setVisible(!problem.isEmpty());
    emit completeChanged();
}

bool TrainingSettingsPage::isComplete() const { return error_->isHidden(); }

bool TrainingSettingsPage::validatePage() { return isComplete() && askAboutTakenName(); }

QString TrainingSettingsPage::chosenModelKey() const {
    return QDir(QDir::fromNativeSeparators(outDir_->text().trimmed()))
        .absoluteFilePath(modelName_->text().trimmed());
}

bool TrainingSettingsPage::isOverwriteConfirmed() const {
    return !confirmedOverwrite_.isEmpty() && confirmedOverwrite_ == chosenModelKey();
}

void TrainingSettingsPage::clearOverwriteConfirmation() {
    confirmedOverwrite_.clear();
    updateState();
}

bool TrainingSettingsPage::askAboutTakenName() {
    const std::string out = QDir::fromNativeSeparators(outDir_->text().trimmed()).toStdString();
    const QString name = modelName_->text().trimmed();
    const auto existing = existingTrainingOutputs(out, name.toStdString());
    if (existing.empty() || isOverwriteConfirmed()) return true;
    const QString free = QString::fromStdString(freeModelName(out, name.toStdString()));
    QStringList files;
    for (const std::string& f : existing)
        files << QDir::toNativeSeparators(QString::fromStdString(f));
    QMessageBox box(QMessageBox::Warning, tr("Model Name Taken"),
                    tr("An earlier training named <b>%1</b> is in %2. Save this one as <b>%3</b>, "
                       "or replace the earlier model (a viewer that has it open keeps the one it "
                       "loaded)?")
                        .arg(name.toHtmlEscaped(),
                             QDir::toNativeSeparators(QString::fromStdString(out)).toHtmlEscaped(),
                             free.toHtmlEscaped()),
                    QMessageBox::NoButton, this);
    box.setDetailedText(tr("Files that would be replaced:\n%1").arg(files.join('\n')));
    QPushButton* newName = box.addButton(tr("Save as %1").arg(free), QMessageBox::AcceptRole);
    newName->setObjectName("newNameButton");
    QPushButton* replace = box.addButton(tr("Replace"), QMessageBox::DestructiveRole);
    replace->setObjectName("replaceButton");
    QPushButton* cancel = box.addButton(QMessageBox::Cancel);
    cancel->setObjectName("cancelButton");
    box.setDefaultButton(newName);
    box.setEscapeButton(cancel);
    box.exec();
    if (box.clickedButton() == newName) {
        modelName_->setText(free);
        return true;
    }
    if (box.clickedButton() == replace) {
        confirmedOverwrite_ = chosenModelKey();
        updateState();
        return true;
    }
    return false;
}

void TrainingSettingsPage::apply(TrainOptions& o) const {
    o.epochs = epochs_->value();
    o.batchSize = batch_->value();
    o.optimizer = optimizer_->currentData().toString().toStdString();
    o.learningRate = learningRate_->value();
    o.weightDecay = weightDecay_->value();
    o.schedule = schedule_->currentData().toString().toStdString();
    o.stepEpochs = stepEpochs_->value();
    o.stepGamma = stepGamma_->value();
    AugmentOptions& a = o.augmentation;
    a = AugmentOptions{};
    a.horizontalFlip = hflip_->isChecked();
    a.verticalFlip = vflip_->isChecked();
    a.rotate90 = rotate_->isChecked();
    if (crop_->isChecked()) a.cropScaleMin = cropMin_->value();
    if (colour_->isChecked()) {
        a.brightness = brightness_->value();
        a.contrast = contrast_->value();
        a.saturation = saturation_->value();
        a.hue = hue_->value();
    }
    if (stain_->isChecked()) {
        a.heSigma = stainSigma_->value();
        a.heBias = stainBias_->value();
    }
    o.classWeights = classWeights_->isChecked();
    o.earlyStoppingPatience = patience_->value();
    o.seed = static_cast<std::uint64_t>(seed_->value());
    o.outDir = QDir::fromNativeSeparators(outDir_->text().trimmed()).toStdString();
    o.modelName = modelName_->text().trimmed().toStdString();
    o.overwrite = isOverwriteConfirmed();
    o.resumeFrom = resume_->text().trimmed().toStdString();
}

void TrainingSettingsPage::saveSettings() const {
    QSettings s;
    s.beginGroup("training");
    s.setValue("epochs", epochs_->value());
    s.setValue("batchSize", batch_->value());
    s.setValue("optimizer", optimizer_->currentData());
    s.setValue("learningRate", learningRate_->value());
    s.setValue("weightDecay", weightDecay_->value());
    s.setValue("schedule", schedule_->currentData());
    s.setValue("stepEpochs", stepEpochs_->value());
    s.setValue("stepGamma", stepGamma_->value());
    s.setValue("hflip", hflip_->isChecked());
    s.setValue("vflip", vflip_->isChecked());
    s.setValue("rotate90", rotate_->isChecked());
    s.setValue("colourJitter", colour_->isChecked());
    s.setValue("brightness", brightness_->value());
    s.setValue("contrast", contrast_->value());
    s.setValue("saturation", saturation_->value());
    s.setValue("hue", hue_->value());
    s.setValue("stainJitter", stain_->isChecked());
    s.setValue("stainSigma", stainSigma_->value());
    s.setValue("stainBias", stainBias_->value());
    s.setValue("randomCrop", crop_->isChecked());
    s.setValue("cropScaleMin", cropMin_->value());
    s.setValue("classWeights", classWeights_->isChecked());
    s.setValue("patience", patience_->value());
    s.setValue("seed", seed_->value());
    s.setValue("outputFolder", outDir_->text().trimmed());
    s.setValue("modelName", modelName_->text().trimmed());
    s.endGroup();
}

}  // namespace lucida::ui
