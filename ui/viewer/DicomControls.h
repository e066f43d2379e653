#pragma once

#include <QWidget>

class QSlider;
class QLabel;
class QComboBox;
class QDoubleSpinBox;

namespace lucida::ui {

class ImageDocument;

// Slice slider and grey window controls (presets, centre/width) for the current image; hidden
// parts for images that have neither slices nor grey levels.
class DicomControls : public QWidget {
    Q_OBJECT
public:
    explicit DicomControls(QWidget* parent = nullptr);
    void setDocument(ImageDocument* document);
    QSlider* sliceSlider() const { return slider_; }
    QComboBox* presets() const { return presets_; }

private:
    void syncFromDocument();
    ImageDocument* document_ = nullptr;
    QList<QMetaObject::Connection> connections_;
    QSlider* slider_;
    QLabel* sliceLabel_;
    QComboBox* presets_;
    QDoubleSpinBox* centre_;
    QDoubleSpinBox* width_;
    QWidget* sliceRow_;
    QWidget* windowRow_;
};

}  // namespace lucida::ui
