#pragma once
// One figure rendered (and written) on a worker thread, so the GUI stays responsive however big
// the figure: the sources are copied first on the GUI thread (FigureSnapshot), the worker renders
// through FigureProgress (every tile counted, cancel seen within a tile) and writes the file
// atomically, so a cancelled or failed export leaves no file behind.

#include "FigureProgress.h"
#include "FigureSnapshot.h"

#include <QFutureWatcher>
#include <QImage>
#include <QObject>

#include <atomic>
#include <memory>

namespace lucida::ui {

class FigureExportJob : public QObject {
    Q_OBJECT
public:
    // Copies the sources (GUI thread). `overlays`: see FigureSnapshot.
    FigureExportJob(const FigureSources& sources, const FigureOptions& options,
                    const std::vector<HeatmapOverlay*>& overlays, QObject* parent = nullptr);
    ~FigureExportJob() override;  // cancels and waits for the worker

    // Starts writing `path` (format by extension) / rendering the image (image() when finished).
    void startWriting(const QString& path);
    void startRendering();
    void cancel();  // finished() follows with cancelled = true
    bool isRunning() const { return watcher_.isRunning(); }

    const QImage& image() const { return image_; }
    FigureProgress::State state() const { return progress_->state(); }

signals:
    // From the worker (queued), at most every 50 ms and at every change of stage.
    void progressed(const lucida::ui::FigureProgress::State& state);
    // `error` empty on success; `cancelled` when cancel() stopped it (nothing written then).
    void finished(const QString& error, bool cancelled);

private:
    template <typename Work>
    void start(Work work);

    std::unique_ptr<FigureSnapshot> snapshot_;
    std::unique_ptr<FigureProgress> progress_;
    QFutureWatcher<QString> watcher_;
    QImage image_;
    std::atomic<bool> cancelled_{false};  // the worker stopped at a cancel
};

}  // namespace lucida::ui

Q_DECLARE_METATYPE(lucida::ui::FigureProgress::State)
