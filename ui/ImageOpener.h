#pragma once

#include "image/ImageSource.h"

#include <QFuture>
#include <QString>

#include <memory>

namespace lucida::ui {

// The result of opening a file off the GUI thread: a source, or the reason it failed.
struct OpenResult {
    QString path;
    std::shared_ptr<const ImageSource> source;
    QString error;  // names the file and says why
};

// Opens (and, for plain images, decodes) on Qt's thread pool; never throws.
QFuture<OpenResult> openImageAsync(const QString& path);

}  // namespace lucida::ui
