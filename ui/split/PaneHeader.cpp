#include "PaneHeader.h"

#include "ModelSession.h"
#include "RecentFiles.h"
#include "cam/CamMethod.h"
#include "model/Model.h"

#include <QComboBox>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QSignalBlocker>
#include <QToolButton>

namespace lucida::ui {

PaneHeader::PaneHeader(ModelSession* session, ModelSession* window, QWidget* parent)
    : QWidget(parent),
      session_(session),
      window_(window),
      model_(new QComboBox(this)),
      method_(new QComboBox(this)),
      class_(new QComboBox(this)),
      layer_(new QComboBox(this)),
      link_(new QToolButton(this)) {
    setObjectName("paneHeader");
    model_->setObjectName("paneModel");
    method_->setObjectName("paneMethod");
    class_->setObjectName("paneClass");
    layer_->setObjectName("paneLayer");
    link_->setObjectName("paneLink");
    model_->setToolTip(tr("The model of this pane"));
    method_->setToolTip(tr("The CAM method of this pane"));
    class_->setToolTip(tr("The class whose heat this pane shows"));
    layer_->setToolTip(tr("CAM heat or the class probability"));
    model_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    model_->setMinimumContentsLength(12);
    for (const std::string& m : camMethodNames()) method_->addItem(QString::fromStdString(m));
    layer_->addItem(tr("CAM"), int(ShownHeat::Cam));
    layer_->addItem(tr("Probability"), int(ShownHeat::Probability));
    link_->setText(tr("Linked"));
    link_->setCheckable(true);
    link_->setChecked(true);
    link_->setToolTip(tr("Linked: pan, zoom, rotation and slice move with the other linked panes"));

    auto* row = new QHBoxLayout(this);
    row->setContentsMargins(2, 2, 2, 2);
    row->addWidget(model_, 2);
    row->addWidget(method_, 1);
    row->addWidget(class_, 1);
    row->addWidget(layer_);
    row->addWidget(link_);

    connect(method_, &QComboBox::activated, this,
            [this] { session_->setMethod(method_->currentText()); });
    connect(class_, &QComboBox::activated, this,
            [this](int index) { session_->setClassIndex(index); });
    connect(layer_, &QComboBox::activated, this,
            [this] { session_->setLayer(static_cast<ShownHeat>(layer_->currentData().toInt())); });
    connect(model_, &QComboBox::activated, this, [this] {
        const QString path = model_->currentData().toString();
        if (path.isEmpty())
            emit windowModelChosen();
        else
            emit modelChosen(path);
    });
    connect(session_, &ModelSession::modelChanged, this, &PaneHeader::showClasses);
    connect(session_, &ModelSession::analysisChanged, this, &PaneHeader::showSettings);
    connect(session_, &ModelSession::displayChanged, this, &PaneHeader::showSettings);
    connect(window_->recentModels(), &RecentFiles::changed, this, &PaneHeader::showModels);
    showModels();
    showSettings();
    showClasses();
}

bool PaneHeader::followsWindowModel() const { return model_->currentData().toString().isEmpty(); }

// "Window's model" first, then the recent models; the pane's own stays chosen.
void PaneHeader::showModels() {
    const QString chosen = model_->currentData().toString();
    const QSignalBlocker block(model_);
    model_->clear();
    model_->addItem(tr("Window's model"), QString());
    for (const QString& path : window_->recentModels()->files())
        model_->addItem(QFileInfo(path).fileName(), path);
    if (!chosen.isEmpty() && model_->findData(chosen) < 0)
        model_->addItem(QFileInfo(chosen).fileName(), chosen);
    model_->setCurrentIndex(std::max(0, model_->findData(chosen)));
}

void PaneHeader::showSettings() {
    const QSignalBlocker blockMethod(method_);
    const QSignalBlocker blockLayer(layer_);
    method_->setCurrentIndex(method_->findText(session_->method()));
    layer_->setCurrentIndex(layer_->findData(int(session_->layer())));
    if (const int k = session_->classIndex(); k >= 0 && k < class_->count()) {
        const QSignalBlocker blockClass(class_);
        class_->setCurrentIndex(k);
    }
}

// The model's classes; the session's class, or by default the positive (last) one.
void PaneHeader::showClasses() {
    const QSignalBlocker block(class_);
    class_->clear();
    const Model* model = session_->model().get();
    class_->setEnabled(model != nullptr);
    if (!model) return;
    const ModelSpec& spec = model->spec();
    for (int k = 0; k < spec.classCount(); ++k)
        class_->addItem(k < int(spec.classes.size()) ? QString::fromStdString(spec.classes[k])
                                                     : tr("class %1").arg(k));
    const int chosen = session_->classIndex();
    class_->setCurrentIndex(chosen >= 0 && chosen < spec.classCount() ? chosen
                                                                      : spec.classCount() - 1);
}

}  // namespace lucida::ui
