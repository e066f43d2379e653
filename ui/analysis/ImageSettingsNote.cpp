#include "ImageSettingsNote.h"

#include "AnalysisController.h"
#include "cohort/ImageSettings.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QSignalBlocker>
#include <QToolButton>

#include <array>
#include <optional>
#include <stdexcept>

namespace lucida::ui {

ImageSettingsNote::ImageSettingsNote(Controls controls, QWidget* parent)
    : QWidget(parent), controls_(controls), label_(new QLabel(this)), edit_(new QToolButton(this)) {
    setObjectName("imageSettingsNote");
    for (QComboBox* c : all()) tooltips_.push_back(c->toolTip());
    label_->setObjectName("imageSettingsLabel");
    label_->setWordWrap(true);
    label_->setToolTip(
        tr("This image's own settings in the open project: its heat is the project queue's and "
           "`lucida-cli batch`'s; other images use this panel's settings"));
    edit_->setObjectName("imageSettingsEditButton");
    edit_->setText(tr("Edit…"));
    edit_->setToolTip(tr("Change this image's project settings (saved to the project file)"));
    auto* row = new QHBoxLayout(this);
    row->setContentsMargins(0, 0, 0, 0);
    row->addWidget(label_, 1);
    row->addWidget(edit_, 0, Qt::AlignTop);
    connect(edit_, &QToolButton::clicked, this, &ImageSettingsNote::editRequested);
    setVisible(false);
}

void ImageSettingsNote::apply(AnalysisController* controller) {
    const ImageSettings own = controller ? controller->imageSettings() : ImageSettings{};
    setVisible(!own.empty());
    std::optional<AnalysisSettings> s;
    if (!own.empty()) {
        QString text =
            tr("Project settings for this image: %1.").arg(QString::fromStdString(describe(own)));
        try {
            s = controller->analysisSettings();
        } catch (const std::invalid_argument& e) {
            text += ' ' + QString::fromUtf8(e.what());
        }
        label_->setText(text);
    }
    const QString why =
        tr("Set by this image's project settings (Edit… to change them); other "
           "images use this control");
    const Controls& c = controls_;
    override(0, own.method.has_value(),
             s ? c.method->findText(QString::fromStdString(s->method)) : -1, why);
    override(1, own.classChoice.has_value(), s ? s->classIndex.value_or(-1) : -1, why);
    override(2, own.fit.has_value(), s ? c.fit->findData(int(s->fit)) : -1, why);
    override(3, own.overlap.has_value(), s ? c.overlap->findData(s->overlap) : -1, why);
    override(4, own.mode.has_value(), s ? c.mode->findData(int(s->mode)) : -1, why);
    override(5, own.int8.has_value(), s ? c.precision->findData(s->int8) : -1, why);
}

std::array<QComboBox*, 6> ImageSettingsNote::all() const {
    return {controls_.method,  controls_.classes, controls_.fit,
            controls_.overlap, controls_.mode,    controls_.precision};
}

void ImageSettingsNote::override(int which, bool overridden, int index, const QString& why) {
    QComboBox* control = all()[std::size_t(which)];
    control->setEnabled(!overridden);
    control->setToolTip(overridden ? why : tooltips_[std::size_t(which)]);
    if (!overridden || index < 0) return;
    const QSignalBlocker block(control);  // the session keeps its own value
    control->setCurrentIndex(index);
}

}  // namespace lucida::ui
