#include "ImageOpener.h"

#include <QtConcurrent/QtConcurrentRun>

namespace lucida::ui {

QFuture<OpenResult> openImageAsync(const QString& path) {
    return QtConcurrent::run([path] {
        OpenResult result{path, nullptr, {}};
        try {
            result.source = openImage(path.toStdString());
        } catch (const std::exception& e) {
            result.error = QString::fromUtf8(e.what());
        }
        return result;
    });
}

}  // namespace lucida::ui
