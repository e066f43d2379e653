#include "DicomControls.h"

#include "ImageDocument.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QSignalBlocker>
#include <QSlider>
#include <QVBoxLayout>

namespace lucida::ui {

DicomControls::DicomControls(QWidget* parent) : QWidget(parent) {
    auto* layout = new QVBoxLayout(this);
    sliceRow_ = new QWidget(this);
    auto* sliceLayout = new QHBoxLayout(sliceRow_);
    sliceLayout->setContentsMargins(0, 0, 0, 0);
    slider_ = new QSlider(Qt::Horizontal, sliceRow_);
    slider_->setToolTip(tr("Slice (Ctrl+wheel, Page Up/Down)"));
    sliceLabel_ = new QLabel(sliceRow_);
    sliceLabel_->setMinimumWidth(60);
    sliceLayout->addWidget(new QLabel(tr("Slice"), sliceRow_));
    sliceLayout->addWidget(slider_, 1);
    sliceLayout->addWidget(sliceLabel_);
    layout->addWidget(sliceRow_);

    windowRow_ = new QWidget(this);
    auto* form = new QFormLayout(windowRow_);
    form->setContentsMargins(0, 0, 0, 0);
    presets_ = new QComboBox(windowRow_);
    presets_->setPlaceholderText(tr("Custom"));
    centre_ = new QDoubleSpinBox(windowRow_);
    width_ = new QDoubleSpinBox(windowRow_);
    for (auto* box : {centre_, width_}) {
        box->setRange(-1e7, 1e7);
        box->setDecimals(1);
        box->setKeyboardTracking(false);
    }
    width_->setMinimum(1e-3);
    form->addRow(tr("Window preset"), presets_);
    form->addRow(tr("Level (centre)"), centre_);
    form->addRow(tr("Width"), width_);
    auto* hint =
        new QLabel(tr("Right-drag on the image: horizontal = width, vertical = level"), windowRow_);
    hint->setWordWrap(true);
    hint->setStyleSheet("color: gray");
    form->addRow(hint);
    layout->addWidget(windowRow_);
    layout->addStretch();

    connect(slider_, &QSlider::valueChanged, this, [this](int v) {
        if (document_) document_->setSlice(v);
    });
    connect(presets_, &QComboBox::activated, this, [this](int index) {
        if (!document_) return;
        const QVariantList w = presets_->itemData(index).toList();
        if (w.size() == 3) document_->setWindow(w[0].toDouble(), w[1].toDouble(), w[2].toString());
    });
    connect(centre_, &QDoubleSpinBox::valueChanged, this, [this](double c) {
        if (document_) document_->setWindow(c, document_->window().width);
    });
    connect(width_, &QDoubleSpinBox::valueChanged, this, [this](double w) {
        if (document_) document_->setWindow(document_->window().centre, w);
    });
    setDocument(nullptr);
}

void DicomControls::setDocument(ImageDocument* document) {
    for (const auto& c : connections_) disconnect(c);
    connections_.clear();
    document_ = document;
    if (document_) {
        connections_ << connect(document_, &ImageDocument::sliceChanged, this,
                                &DicomControls::syncFromDocument);
        connections_ << connect(document_, &ImageDocument::windowChanged, this,
                                &DicomControls::syncFromDocument);
    }
    syncFromDocument();
}

void DicomControls::syncFromDocument() {
    const bool slices = document_ && document_->info().sliceCount > 1;
    const bool gray = document_ && document_->isGray();
    sliceRow_->setVisible(slices);
    windowRow_->setVisible(gray);
    if (!document_) return;
    const QSignalBlocker b1(slider_), b2(presets_), b3(centre_), b4(width_);
    slider_->setRange(0, document_->info().sliceCount - 1);
    slider_->setValue(document_->slice());
    sliceLabel_->setText(
        QStringLiteral("%1 / %2").arg(document_->slice() + 1).arg(document_->info().sliceCount));
    presets_->clear();
    // The box shows the window in use: its preset (by name, else by values), else "Custom".
    const Window& shown = document_->window();
    int current = -1, sameValues = -1;
    for (const Window& w : document_->windowPresets()) {
        const bool values = w.centre == shown.centre && w.width == shown.width;
        if (values && w.name == shown.name && current < 0) current = presets_->count();
        if (values && sameValues < 0) sameValues = presets_->count();
        presets_->addItem(QStringLiteral("%1 (%2 / %3)")
                              .arg(QString::fromStdString(w.name))
                              .arg(w.centre)
                              .arg(w.width),
                          QVariantList{w.centre, w.width, QString::fromStdString(w.name)});
    }
    presets_->setCurrentIndex(current >= 0 ? current : sameValues);
    centre_->setValue(document_->window().centre);
    width_->setValue(document_->window().width);
}

}  // namespace lucida::ui
