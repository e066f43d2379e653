#include "ImageOpener.h"

#include "image/DicomSource.h"

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

QFuture<OpenResult> openImageAsync(const QString& path, const QString& seriesUid) {
    return QtConcurrent::run([path, seriesUid] {
        OpenResult result{path, nullptr, {}};
        try {
            result.source =
                std::make_shared<DicomSource>(path.toStdString(), seriesUid.toStdString());
            result.path = QString::fromStdString(result.source->info().path);
        } catch (const std::exception& e) {
            result.error = QString::fromUtf8(e.what());
        }
        return result;
    });
}

QList<SeriesOffer> dicomSeriesOf(const ImageInfo& info) {
    QList<SeriesOffer> offers;
    for (int i = 1;; ++i) {
        const auto text = info.property("dicom.series." + std::to_string(i));
        if (!text) break;
        SeriesOffer o;
        o.label = QString::fromStdString(*text);
        o.shown = o.label.endsWith(QStringLiteral(" (shown)"));
        if (o.shown) o.label.chop(8);
        o.uid = o.label.section(QStringLiteral(": "), 0, 0);
        if (o.uid == QStringLiteral("(no UID)")) o.uid.clear();  // files without a series UID
        offers << o;
    }
    return offers;
}

}  // namespace lucida::ui
