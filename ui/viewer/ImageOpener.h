#pragma once

#include "image/ImageSource.h"

#include <QFuture>
#include <QList>
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

// One series (SeriesInstanceUID) of a DICOM folder or DICOMDIR. The result's path is the one the
// source names: the series' own folder when it has one, else `path`.
QFuture<OpenResult> openImageAsync(const QString& path, const QString& seriesUid);

// A series a DICOM folder or DICOMDIR offers, as its image lists them (dicom.series.N).
struct SeriesOffer {
    QString uid;
    QString label;  // UID, modality, number, description, files, folder
    bool shown = false;
};
QList<SeriesOffer> dicomSeriesOf(const ImageInfo& info);

}  // namespace lucida::ui
