#include "ModelDescriptionDialog.h"

#include "model/Model.h"
#include "model/ModelError.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFile>
#include <QFileInfo>
#include <QFormLayout>
#include <QFutureWatcher>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPointer>
#include <QSpinBox>
#include <QVBoxLayout>
#include <QtConcurrent>

#include <cmath>

namespace lucida::ui {
namespace {

struct Normalisation {
    const char* name;
    std::array<float, 3> mean, std;
};
constexpr Normalisation kNormalisations[] = {
    {"ImageNet (torchvision)", {0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}},
    {"[-1, 1] (mean 0.5, std 0.5)", {0.5f, 0.5f, 0.5f}, {0.5f, 0.5f, 0.5f}},
    {"[0, 1] (none)", {0.f, 0.f, 0.f}, {1.f, 1.f, 1.f}},
};

QString triple(const std::array<float, 3>& v) {
    return QStringLiteral("%1, %2, %3")
        .arg(v[0], 0, 'g', 6)
        .arg(v[1], 0, 'g', 6)
        .arg(v[2], 0, 'g', 6);
}

// "0.5, 0.5, 0.5" -> three numbers, or nullopt.
std::optional<std::array<float, 3>> parseTriple(const QString& text) {
    const QStringList parts = text.split(',', Qt::SkipEmptyParts);
    if (parts.size() != 3) return std::nullopt;
    std::array<float, 3> v{};
    for (int i = 0; i < 3; ++i) {
        bool ok = false;
        v[i] = parts[i].trimmed().toFloat(&ok);
        if (!ok || !std::isfinite(v[i])) return std::nullopt;
    }
    return v;
}

}  // namespace

ModelDescriptionDialog::ModelDescriptionDialog(std::shared_ptr<const Model> model, QWidget* parent)
    : QDialog(parent), model_(std::move(model)) {
    setWindowTitle(tr("Describe Model"));
    setObjectName("modelDescriptionDialog");
    const ModelSpec& spec = model_->spec();
    sidecar_ = QString::fromStdString(sidecarPathFor(model_->path()));

    auto* layout = new QVBoxLayout(this);
    auto* intro = new QLabel(
        tr("What Lucida knows about <b>%1</b>, saved in <tt>%2</tt> beside it.")
            .arg(QFileInfo(QString::fromStdString(model_->path())).fileName().toHtmlEscaped(),
                 QFileInfo(sidecar_).fileName().toHtmlEscaped()),
        this);
    intro->setWordWrap(true);
    layout->addWidget(intro);
    if (!spec.notices.empty()) {
        QStringList items;
        for (const std::string& n : spec.notices)
            items << QStringLiteral("<li>%1</li>").arg(QString::fromStdString(n).toHtmlEscaped());
        auto* assumed = new QLabel(
            tr("<span style='color:#b9770e'><b>Assumed, because the sidecar does not say:</b>"
               "<ul style='margin:0'>%1</ul></span>")
                .arg(items.join(QString())),
            this);
        assumed->setObjectName("assumptionsLabel");
        assumed->setWordWrap(true);
        layout->addWidget(assumed);
    }

    auto* form = new QFormLayout;
    layout->addLayout(form);
    QStringList names;
    for (const std::string& c : spec.classes) names << QString::fromStdString(c);
    classes_ = new QLineEdit(names.join(QStringLiteral(", ")), this);
    classes_->setObjectName("classesEdit");
    classes_->setToolTip(
        tr("Class names in the order of the model's outputs, separated by commas"));
    form->addRow(tr("Classes:"), classes_);

    output_ = new QComboBox(this);
    output_->setObjectName("outputCombo");
    output_->addItem(tr("Softmax: one output per class"), int(OutputKind::Softmax));
    output_->addItem(tr("Sigmoid: one output, binary (negative, positive)"),
                     int(OutputKind::SigmoidBinary));
    output_->setCurrentIndex(spec.output == OutputKind::SigmoidBinary ? 1 : 0);
    form->addRow(tr("Output:"), output_);

    width_ = new QSpinBox(this);
    height_ = new QSpinBox(this);
    for (QSpinBox* box : {width_, height_}) {
        box->setRange(8, 8192);
        box->setSuffix(tr(" px"));
    }
    width_->setObjectName("inputWidth");
    height_->setObjectName("inputHeight");
    width_->setValue(spec.inputWidth);
    height_->setValue(spec.inputHeight);
    auto* size = new QHBoxLayout;
    size->addWidget(width_);
    size->addWidget(new QLabel(QStringLiteral("×"), this));
    size->addWidget(height_);
    form->addRow(tr("Input size:"), size);

    addNormalisationRows(form, spec);
    addScaleRow(form, spec);
    addLayerRow(form, spec);

    error_ = new QLabel(this);
    error_->setObjectName("errorLabel");
    error_->setStyleSheet(QStringLiteral("color:#c0392b"));
    error_->setWordWrap(true);
    layout->addWidget(error_);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Save | QDialogButtonBox::Cancel, this);
    connect(buttons, &QDialogButtonBox::accepted, this, &ModelDescriptionDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    layout->addWidget(buttons);
}

void ModelDescriptionDialog::addNormalisationRows(QFormLayout* form, const ModelSpec& spec) {
    normPreset_ = new QComboBox(this);
    for (const Normalisation& n : kNormalisations) normPreset_->addItem(tr(n.name));
    normPreset_->addItem(tr("Custom"));
    mean_ = new QLineEdit(triple(spec.mean), this);
    std_ = new QLineEdit(triple(spec.std), this);
    mean_->setObjectName("meanEdit");
    std_->setObjectName("stdEdit");
    auto matchPreset = [this] {
        const auto mean = parseTriple(mean_->text()), sd = parseTriple(std_->text());
        int index = normPreset_->count() - 1;
        for (int i = 0; i < int(std::size(kNormalisations)); ++i)
            if (mean && sd && *mean == kNormalisations[i].mean && *sd == kNormalisations[i].std)
                index = i;
        const QSignalBlocker block(normPreset_);
        normPreset_->setCurrentIndex(index);
    };
    matchPreset();
    connect(normPreset_, &QComboBox::activated, this, [this](int i) {
        if (i >= int(std::size(kNormalisations))) return;
        mean_->setText(triple(kNormalisations[i].mean));
        std_->setText(triple(kNormalisations[i].std));
    });
    connect(mean_, &QLineEdit::textEdited, this, matchPreset);
    connect(std_, &QLineEdit::textEdited, this, matchPreset);
    form->addRow(tr("Normalisation:"), normPreset_);
    form->addRow(tr("    mean (R, G, B):"), mean_);
    form->addRow(tr("    std (R, G, B):"), std_);
}

void ModelDescriptionDialog::addScaleRow(QFormLayout* form, const ModelSpec& spec) {
    scaleKind_ = new QComboBox(this);
    scaleKind_->setObjectName("scaleCombo");
    scaleKind_->addItem(tr("None (photos, MRI: the whole image is the input)"));
    scaleKind_->addItem(tr("µm per pixel"));
    scaleKind_->addItem(tr("Objective magnification"));
    scale_ = new QDoubleSpinBox(this);
    scale_->setObjectName("scaleValue");
    scale_->setDecimals(4);
    scale_->setRange(0.05, 1000);
    if (spec.micronsPerPixel) {
        scaleKind_->setCurrentIndex(1);
        scale_->setValue(*spec.micronsPerPixel);
    } else if (spec.magnification) {
        scaleKind_->setCurrentIndex(2);
        scale_->setValue(*spec.magnification);
    } else {
        scale_->setValue(0.5);
    }
    auto scaleUnit = [this](int i) {
        scale_->setEnabled(i > 0);
        scale_->setSuffix(i == 1 ? tr(" µm/px") : i == 2 ? QStringLiteral("×") : QString());
    };
    scaleUnit(scaleKind_->currentIndex());
    connect(scaleKind_, &QComboBox::currentIndexChanged, this, scaleUnit);
    auto* scaleRow = new QHBoxLayout;
    scaleRow->addWidget(scaleKind_, 1);
    scaleRow->addWidget(scale_);
    form->addRow(tr("Scale:"), scaleRow);
}

void ModelDescriptionDialog::addLayerRow(QFormLayout* form, const ModelSpec& spec) {
    layer_ = new QComboBox(this);
    layer_->setObjectName("layerCombo");
    layer_->setEditable(true);
    layer_->addItem(tr("(automatic: %1)").arg(QString::fromStdString(model_->defaultTargetLayer())),
                    QString());
    if (!spec.targetLayer.empty()) {
        layer_->addItem(QString::fromStdString(spec.targetLayer),
                        QString::fromStdString(spec.targetLayer));
        layer_->setCurrentIndex(1);
    }
    form->addRow(tr("CAM target layer:"), layer_);
    // The candidate layers need a forward pass: found off the GUI thread.
    auto* watcher = new QFutureWatcher<std::vector<LayerInfo>>(this);
    connect(watcher, &QFutureWatcher<std::vector<LayerInfo>>::finished, this, [this, watcher] {
        std::vector<LayerInfo> layers;
        try {
            layers = watcher->result();
        } catch (...) {
            return;
        }
        for (const LayerInfo& l : layers) {
            const QString name = QString::fromStdString(l.name);
            if (layer_->findData(name) < 0) layer_->addItem(name, name);
        }
    });
    watcher->setFuture(QtConcurrent::run([shared = model_] { return shared->layers(); }));
}

ModelSpec ModelDescriptionDialog::description() const {
    ModelSpec spec = model_->spec();
    spec.notices.clear();
    spec.classes.clear();
    for (const QString& name : classes_->text().split(',', Qt::SkipEmptyParts))
        if (!name.trimmed().isEmpty()) spec.classes.push_back(name.trimmed().toStdString());
    spec.output = OutputKind(output_->currentData().toInt());
    spec.inputWidth = width_->value();
    spec.inputHeight = height_->value();
    if (const auto mean = parseTriple(mean_->text())) spec.mean = *mean;
    if (const auto sd = parseTriple(std_->text())) spec.std = *sd;
    spec.micronsPerPixel.reset();
    spec.magnification.reset();
    if (scaleKind_->currentIndex() == 1) spec.micronsPerPixel = scale_->value();
    if (scaleKind_->currentIndex() == 2) spec.magnification = scale_->value();
    // A typed name, or a chosen item (the automatic one has no data).
    const int i = layer_->findText(layer_->currentText());
    spec.targetLayer =
        (i >= 0 ? layer_->itemData(i).toString() : layer_->currentText().trimmed()).toStdString();
    return spec;
}

QString ModelDescriptionDialog::save() {
    if (!parseTriple(mean_->text())) return tr("mean: three numbers separated by commas");
    if (!parseTriple(std_->text())) return tr("std: three numbers separated by commas");
    const ModelSpec spec = description();
    if (spec.output == OutputKind::SigmoidBinary && spec.classes.size() != 2)
        return tr("classes: a sigmoid model has two (negative, positive)");
    if (spec.classes.empty()) return tr("classes: at least one name");
    // Checked exactly as Lucida will read it, before the old sidecar is touched.
    const std::string check = sidecar_.toStdString() + ".check";
    try {
        writeModelSpec(spec, check);
        readModelSpec(check);
    } catch (const std::exception& e) {
        QFile::remove(QString::fromStdString(check));
        return QString::fromStdString(e.what());
    }
    QFile::remove(QString::fromStdString(check));
    if (QFile::exists(sidecar_)) {
        QFile::remove(sidecar_ + ".bak");
        if (!QFile::copy(sidecar_, sidecar_ + ".bak"))
            return tr("%1: cannot keep a copy of the old sidecar").arg(sidecar_);
    }
    try {
        writeModelSpec(spec, sidecar_.toStdString());
    } catch (const std::exception& e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

void ModelDescriptionDialog::accept() {
    const QString problem = save();
    if (!problem.isEmpty()) {
        error_->setText(problem);
        return;
    }
    QDialog::accept();
}

}  // namespace lucida::ui
