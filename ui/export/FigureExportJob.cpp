#include "FigureExportJob.h"

#include "FigureWriter.h"

#include <QtConcurrent>

namespace lucida::ui {

namespace {

// What the figure renders, in output pixels: its panels and the overview's thumbnail.
double plannedPixels(const FigureSources& sources, const FigureOptions& options) {
    const FigureLayout l = FigureRenderer(sources).layout(options);
    double pixels = l.overview.width() * l.overview.height();
    for (const QRect& panel : l.panels) pixels += double(panel.width()) * panel.height();
    return pixels;
}

}  // namespace

FigureExportJob::FigureExportJob(const FigureSources& sources, const FigureOptions& options,
                                 const std::vector<HeatmapOverlay*>& overlays, QObject* parent)
    : QObject(parent), snapshot_(std::make_unique<FigureSnapshot>(sources, options, overlays)) {
    qRegisterMetaType<FigureProgress::State>();
    progress_ = std::make_unique<FigureProgress>(
        plannedPixels(snapshot_->sources(), snapshot_->options()),
        [this](const FigureProgress::State& state) { emit progressed(state); });
    connect(&watcher_, &QFutureWatcher<QString>::finished, this,
            [this] { emit finished(watcher_.result(), cancelled_); });
}

FigureExportJob::~FigureExportJob() {
    progress_->cancel();
    watcher_.waitForFinished();
}

template <typename Work>
void FigureExportJob::start(Work work) {
    Q_ASSERT(!watcher_.isRunning());
    watcher_.setFuture(QtConcurrent::run([this, work]() -> QString {
        FigureRenderer renderer(snapshot_->sources());
        renderer.setProgress(progress_.get());
        try {
            work(renderer);
            progress_->setStage(FigureProgress::Stage::Done);
            return {};
        } catch (const FigureCancelled&) {
            cancelled_ = true;
            return QObject::tr("Cancelled: nothing was written.");
        } catch (const std::exception& e) {
            return QString::fromUtf8(e.what());
        }
    }));
}

void FigureExportJob::startWriting(const QString& path) {
    start([this, path](const FigureRenderer& renderer) {
        writeFigure(path, renderer, snapshot_->options(), progress_.get());
    });
}

void FigureExportJob::startRendering() {
    start([this](const FigureRenderer& renderer) {
        QImage image = renderer.renderImage(snapshot_->options());
        progress_->throwIfCancelled();
        image_ = std::move(image);  // read on the GUI thread only after finished()
    });
}

void FigureExportJob::cancel() { progress_->cancel(); }

}  // namespace lucida::ui
