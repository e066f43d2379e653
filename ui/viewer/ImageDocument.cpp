#include "ImageDocument.h"

#include <QFileInfo>

#include <algorithm>

namespace lucida::ui {

ImageDocument::ImageDocument(std::shared_ptr<const ImageSource> source, QObject* parent)
    : QObject(parent), source_(std::move(source)) {
    const auto windows = source_->windowsForSlice(0);
    if (!windows.empty())
        window_ = windows.front();
    else
        window_ = {"Full range", 32767.5, 65535.0};
}

QString ImageDocument::displayName() const {
    const QFileInfo fi(path());
    return fi.fileName().isEmpty() ? path() : fi.fileName();
}

void ImageDocument::setSlice(int slice) {
    slice = std::clamp(slice, 0, info().sliceCount - 1);
    if (slice == slice_) return;
    slice_ = slice;
    emit sliceChanged(slice_);
}

void ImageDocument::setWindow(double centre, double width, const QString& name) {
    width = std::max(width, 1e-6);
    if (centre == window_.centre && width == window_.width) return;
    window_ = {name.isEmpty() ? std::string("Custom") : name.toStdString(), centre, width};
    emit windowChanged();
}

QList<Window> ImageDocument::windowPresets() const {
    QList<Window> presets;
    for (const Window& w : source_->windowsForSlice(slice_)) presets.append(w);
    if (info().grayMapping.unit == "HU") {
        presets.append({"CT Brain", 40, 80});
        presets.append({"CT Subdural", 75, 215});
        presets.append({"CT Lung", -600, 1500});
        presets.append({"CT Mediastinum", 50, 350});
        presets.append({"CT Abdomen", 40, 400});
        presets.append({"CT Bone", 400, 1800});
    }
    return presets;
}

}  // namespace lucida::ui
