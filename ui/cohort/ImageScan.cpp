#include "ImageScan.h"

#include "TileImage.h"
#include "analysis/AnalysisOutputs.h"
#include "engine/ModelEngine.h"
#include "image/ImageSource.h"

#include <QCoreApplication>
#include <QFileInfo>

#include <cmath>

namespace lucida::ui {
namespace {
constexpr std::int64_t kMaxThumbnailPixels = 4096 * 4096;  // a larger smallest level: no thumbnail

// The smallest level (what the overview reads), when it is small enough to decode whole.
QImage thumbnailOf(const ImageSource& source) {
    const ImageInfo& info = source.info();
    if (info.levels.empty()) return {};
    const int level = static_cast<int>(info.levels.size()) - 1;
    const Level& lv = info.level(level);
    if (lv.width * lv.height > kMaxThumbnailPixels) return {};
    const PixelBuffer pixels = source.readRegion(level, {0, 0, lv.width, lv.height});
    GrayLut lut;
    if (pixels.format == PixelFormat::Gray16 && !info.windows.empty())
        lut = GrayLut(info.grayMapping, info.windows.front());
    if (pixels.format == PixelFormat::Gray16 && lut.empty()) return {};
    return toDisplayImage(pixels, lut)
        .scaled(kThumbnailSide, kThumbnailSide, Qt::KeepAspectRatio, Qt::SmoothTransformation);
}

QString tr(const char* text) { return QCoreApplication::translate("ImageScan", text); }
}  // namespace

ImageScan scanImage(const QString& path, const QueueSettings& q, const QString& root,
                    const ImageSettings& own) {
    ImageScan scan;
    if (!QFileInfo::exists(path)) {
        scan.status = ImageStatus::Missing;
        return scan;
    }
    std::unique_ptr<ImageSource> source;
    try {
        source = openProjectImage(path, own);
        scan.width = source->info().width();
        scan.height = source->info().height();
        scan.micronsPerPixel = source->info().mppX;
        scan.thumbnail = thumbnailOf(*source);
    } catch (const std::exception& e) {
        scan.status = ImageStatus::Failed;
        scan.error = QString::fromStdString(e.what());
        if (!source) return scan;
    }
    if (!q.model) return scan;
    if (const auto failure = recordedFailure(root, path, imageSignature(q, own))) {
        scan.status = ImageStatus::Failed;
        scan.error = *failure;
        return scan;
    }
    try {
        const auto stored = modelEngine().loadSlideAnalysis(
            *source, *q.model, imageAnalysisSettings(q, own), root.toStdString());
        scan.status = ImageStatus::None;
        if (!stored) return scan;
        scan.done = stored->doneCount();
        scan.total = stored->outcomes.size();
        scan.status = stored->complete() ? ImageStatus::Done : ImageStatus::Partial;
        if (stored->complete()) scan.score = summarise(*stored).topMean;
    } catch (const std::exception& e) {
        scan.status = ImageStatus::Failed;
        scan.error = QString::fromStdString(e.what());
    }
    return scan;
}

QString statusText(const ImageScan& scan) {
    switch (scan.status) {
        case ImageStatus::Unknown:
            return {};
        case ImageStatus::Missing:
            return tr("missing");
        case ImageStatus::None:
            return tr("none");
        case ImageStatus::Partial:
            return tr("partial %1 %").arg(scan.total ? int(100.0 * scan.done / scan.total) : 0);
        case ImageStatus::Done:
            return tr("done");
        case ImageStatus::Failed:
            return tr("failed: %1").arg(scan.error);
    }
    return {};
}

}  // namespace lucida::ui
