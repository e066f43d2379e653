#pragma once

#include "image/ImageSource.h"

#include <QObject>
#include <QString>

#include <memory>

namespace lucida::ui {

// One opened image as the GUI sees it: the source plus what the user chose for it (slice, grey
// window). Shared by the view, the overview and the panels of its tab.
class ImageDocument : public QObject {
    Q_OBJECT
public:
    ImageDocument(std::shared_ptr<const ImageSource> source, QObject* parent = nullptr);

    const std::shared_ptr<const ImageSource>& source() const { return source_; }
    const ImageInfo& info() const { return source_->info(); }
    QString path() const { return QString::fromStdString(info().path); }
    QString displayName() const;
    bool isGray() const { return info().pixelFormat == PixelFormat::Gray16; }

    int slice() const { return slice_; }
    void setSlice(int slice);

    // Grey window in real values (after the modality mapping); unused for colour images.
    const Window& window() const { return window_; }
    void setWindow(double centre, double width, const QString& name = {});
    QList<Window> windowPresets() const;  // the slice's own windows, then standard ones

signals:
    void sliceChanged(int slice);
    void windowChanged();

private:
    std::shared_ptr<const ImageSource> source_;
    int slice_ = 0;
    Window window_;
};

}  // namespace lucida::ui
