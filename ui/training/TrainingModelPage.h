#pragma once

#include "train/TrainOptions.h"

#include <QWizardPage>

class QComboBox;
class QGroupBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QRadioButton;
class QSpinBox;

namespace lucida::ui {

class TrainingDataPage;

// Page 2: the network. A torchvision ResNet (from scratch or from a torchvision .pth), a small
// CNN, or an existing model file to fine-tune; the input size; for two classes one sigmoid logit
// or a two-way softmax; and how many epochs only the new head trains.
class TrainingModelPage : public QWizardPage {
    Q_OBJECT
public:
    explicit TrainingModelPage(const TrainingDataPage* data, QWidget* parent = nullptr);

    void initializePage() override;
    bool isComplete() const override;
    bool validatePage() override;

    QString architecture() const;  // "resnet18", "resnet34", "resnet50", "smallcnn", "file"
    void setArchitecture(const QString& architecture);
    QSpinBox* inputSizeBox() const { return inputSize_; }
    QSpinBox* freezeBox() const { return freeze_; }
    void setInitWeights(const QString& path);  // empty: from scratch
    void setBaseModel(const QString& path);
    void setSoftmax(bool softmax);
    bool binaryChoiceVisible() const;
    QString errorText() const;

    void apply(TrainOptions& options) const;
    void saveSettings() const;

private:
    void architectureChanged();
    void updateState();
    static int defaultInputSize(const QString& architecture);

    const TrainingDataPage* data_;
    QComboBox* architecture_;
    QGroupBox* weightsBox_;
    QRadioButton* scratch_;
    QRadioButton* pretrained_;
    QLineEdit* weightsEdit_;
    QPushButton* weightsBrowse_;
    QGroupBox* fileBox_;
    QLineEdit* baseModelEdit_;
    QSpinBox* inputSize_;
    QGroupBox* binaryBox_;
    QRadioButton* sigmoid_;
    QRadioButton* softmax_;
    QSpinBox* freeze_;
    QLabel* error_;
    QString previousArchitecture_;
};

}  // namespace lucida::ui
