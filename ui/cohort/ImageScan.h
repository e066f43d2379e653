#pragma once

// One project image as the Project dock shows it: its size, pixel size and thumbnail, and its
// analysis status for the current model and settings, read from its stored results (what the
// viewer, the queue and `lucida-cli` leave there). Made on a worker thread: it opens the image and
// plans its patches (tissue detection on a thumbnail).

#include "QueueSettings.h"

#include <QImage>
#include <QString>

#include <cstddef>
#include <optional>

namespace lucida::ui {

enum class ImageStatus { Unknown, Missing, None, Partial, Done, Failed };

struct ImageScan {
    ImageStatus status = ImageStatus::Unknown;  // Unknown: not scanned yet, or no model open
    QString error;                              // why it failed (opening it or the queue's run)
    qint64 width = 0, height = 0;
    std::optional<double> micronsPerPixel;
    QImage thumbnail;
    std::size_t done = 0, total = 0;  // stored patches of the current settings
    std::optional<double> score;      // top-10 mean probability, as the CLI's cohort table
};

constexpr int kThumbnailSide = 64;

// Scans `path` (results in `root`) with the image's `own` settings over the window's (its status
// is that of its effective settings; its pixel size the one it is analysed at); without a model,
// only the image (status Unknown).
ImageScan scanImage(const QString& path, const QueueSettings& settings, const QString& root,
                    const ImageSettings& own = {});

// "none", "partial 42 %", "done", "failed: reason", "missing", "" (unknown).
QString statusText(const ImageScan& scan);

}  // namespace lucida::ui
