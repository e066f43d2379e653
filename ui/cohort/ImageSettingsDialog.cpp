#include "ImageSettingsDialog.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QLineEdit>

#include <algorithm>

namespace lucida::ui {
namespace {
// A spin box whose lowest value reads "window's" (or "file's"): no override.
QDoubleSpinBox* spin(QWidget* parent, const char* name, double low, double high, double step,
                     int decimals, const QString& unset, std::optional<double> value) {
    auto* s = new QDoubleSpinBox(parent);
    s->setObjectName(name);
    s->setDecimals(decimals);
    s->setRange(low, high);
    s->setSingleStep(step);
    s->setSpecialValueText(unset);
    s->setValue(value.value_or(low));
    return s;
}

std::optional<double> valueOf(const QDoubleSpinBox* s) {
    if (s->value() <= s->minimum()) return std::nullopt;
    return s->value();
}

// A combo box of "window's" then `choices`, set to `value`.
QComboBox* combo(QWidget* parent, const char* name, const std::vector<std::string>& choices,
                 const std::optional<std::string>& value) {
    auto* c = new QComboBox(parent);
    c->setObjectName(name);
    c->addItem(QObject::tr("window's"), QString());
    for (const auto& choice : choices)
        c->addItem(QString::fromStdString(choice), QString::fromStdString(choice));
    if (value) c->setCurrentIndex(std::max(0, c->findData(QString::fromStdString(*value))));
    return c;
}

std::optional<std::string> choiceOf(const QComboBox* c) {
    const QString v = c->currentData().toString();
    if (v.isEmpty()) return std::nullopt;
    return v.toStdString();
}

QLineEdit* line(QWidget* parent, const char* name, const std::optional<std::string>& value,
                const QString& placeholder) {
    auto* e = new QLineEdit(QString::fromStdString(value.value_or("")), parent);
    e->setObjectName(name);
    e->setPlaceholderText(placeholder);
    e->setMaxLength(256);  // as the project file allows
    return e;
}
}  // namespace

ImageSettingsDialog::ImageSettingsDialog(const ImageSettings& s, const QString& images,
                                         QWidget* parent)
    : QDialog(parent) {
    setObjectName("imageSettingsDialog");
    setWindowTitle(tr("Image Settings — %1").arg(images));
    const QString window = tr("window's");
    pixelSize_ = spin(this, "imagePixelSize", 0, 100000, 0.05, 4, tr("file's"), s.pixelSize);
    pixelSize_->setSuffix(tr(" µm/px"));
    mode_ = combo(this, "imageMode", {"patch", "dense"},
                  s.mode ? std::optional(modeName(*s.mode)) : std::nullopt);
    precision_ = combo(this, "imagePrecision", {"fp32", "int8"},
                       s.int8 ? std::optional(analysisPrecisionName(*s.int8)) : std::nullopt);
    precision_->setToolTip(
        tr("int8 applies in dense mode on the CPU with native .pth models (calibrated on this "
           "image's tissue); elsewhere the run is fp32 and says why"));
    overlap_ = spin(this, "imageOverlap", -0.05, 0.75, 0.05, 2, window, s.overlap);
    fit_ = combo(this, "imageFit", {"auto", "whole", "patches"},
                 s.fit ? std::optional(fitName(*s.fit)) : std::nullopt);
    method_ = combo(this, "imageMethod", imageSettingsMethods(), s.method);
    class_ = line(this, "imageClass", s.classChoice, tr("window's (a class name or index)"));
    layer_ = line(this, "imageLayer", s.layer, tr("window's (the model's default)"));
    minTissue_ = spin(this, "imageMinTissue", -0.05, 1, 0.05, 2, window, s.minTissue);
    excluded_ = new QCheckBox(tr("Leave out of Analyse All and lucida-cli batch"), this);
    excluded_->setObjectName("imageExcluded");
    excluded_->setChecked(s.excluded);

    auto* form = new QFormLayout(this);
    form->addRow(tr("Pixel size:"), pixelSize_);
    form->addRow(tr("Mode:"), mode_);
    form->addRow(tr("Precision:"), precision_);
    form->addRow(tr("Overlap:"), overlap_);
    form->addRow(tr("Fit:"), fit_);
    form->addRow(tr("Method:"), method_);
    form->addRow(tr("Class:"), class_);
    form->addRow(tr("Layer:"), layer_);
    form->addRow(tr("Minimum tissue:"), minTissue_);
    form->addRow(tr("Excluded:"), excluded_);
    auto* buttons =
        new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, Qt::Horizontal, this);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    form->addRow(buttons);
}

ImageSettings ImageSettingsDialog::settings() const {
    ImageSettings s;
    s.pixelSize = valueOf(pixelSize_);
    if (const auto mode = choiceOf(mode_))
        s.mode = *mode == "dense" ? AnalysisMode::Dense : AnalysisMode::Patch;
    if (const auto precision = choiceOf(precision_)) s.int8 = *precision == "int8";
    s.overlap = valueOf(overlap_);
    if (const auto fit = choiceOf(fit_))
        s.fit = *fit == "whole"     ? ImageFit::WholeImage
                : *fit == "patches" ? ImageFit::Patches
                                    : ImageFit::Auto;
    s.method = choiceOf(method_);
    if (!class_->text().trimmed().isEmpty()) s.classChoice = class_->text().trimmed().toStdString();
    if (!layer_->text().trimmed().isEmpty()) s.layer = layer_->text().trimmed().toStdString();
    s.minTissue = valueOf(minTissue_);
    s.excluded = excluded_->isChecked();
    return s;
}

}  // namespace lucida::ui
