#pragma once
// Edits what Lucida knows about a model — its sidecar (<model>.json): class names, output kind,
// input size, normalisation, physical scale and CAM target layer. Shows first what was assumed
// because the sidecar did not say it, so a model opened without one can be described properly.
#include "model/ModelSpec.h"

#include <QDialog>

#include <memory>

class QComboBox;
class QDoubleSpinBox;
class QFormLayout;
class QLabel;
class QLineEdit;
class QSpinBox;

namespace lucida {
class Model;
}

namespace lucida::ui {

class ModelDescriptionDialog : public QDialog {
    Q_OBJECT
public:
    ModelDescriptionDialog(std::shared_ptr<const Model> model, QWidget* parent = nullptr);

    // What the fields say, on top of the model's current description.
    ModelSpec description() const;
    QString sidecarPath() const { return sidecar_; }

    // Checks the description as Lucida will read it, keeps an existing sidecar as <name>.json.bak
    // and writes the new one atomically. Returns an error naming the field, or empty.
    QString save();

    // The fields, for tests.
    QLineEdit* classesEdit() const { return classes_; }
    QComboBox* outputCombo() const { return output_; }
    QComboBox* scaleCombo() const { return scaleKind_; }
    QDoubleSpinBox* scaleValue() const { return scale_; }
    QComboBox* layerCombo() const { return layer_; }

    void accept() override;  // saves; stays open with the error when the description is wrong

private:
    // The form's rows that need more than one widget or follow the model.
    void addNormalisationRows(QFormLayout* form, const ModelSpec& spec);
    void addScaleRow(QFormLayout* form, const ModelSpec& spec);
    void addLayerRow(QFormLayout* form, const ModelSpec& spec);

    std::shared_ptr<const Model> model_;
    QString sidecar_;
    QLineEdit* classes_;
    QComboBox* output_;
    QSpinBox* width_;
    QSpinBox* height_;
    QComboBox* normPreset_;
    QLineEdit* mean_;
    QLineEdit* std_;
    QComboBox* scaleKind_;
    QDoubleSpinBox* scale_;
    QComboBox* layer_;
    QLabel* error_;
};

}  // namespace lucida::ui
