#include "ComparisonRun.h"

#include "model/Model.h"

#include <QEventLoop>
#include <QFutureWatcher>
#include <QProgressDialog>
#include <QTimer>
#include <QtConcurrent/QtConcurrentRun>

#include <atomic>

namespace lucida::ui {

std::vector<std::string> comparedMethods() { return {"gradcam", "gradcam++", "scorecam"}; }

std::vector<RegionCamRequest> comparisonRequests(const ComparisonContext& context,
                                                 const QString& choice) {
    std::vector<RegionCamRequest> requests;
    if (choice == "methods") {
        for (const std::string& m : comparedMethods())
            requests.push_back({m, context.settings.classIndex});
    } else if (choice == "classes") {
        for (std::size_t c = 0; c < std::min<std::size_t>(context.classes.size(), 6); ++c)
            requests.push_back({context.settings.method, int(c)});
    }
    return requests;
}

std::unique_ptr<ComparisonPanels> runComparison(QWidget* parent, const ComparisonContext& context,
                                                const std::vector<RegionCamRequest>& requests,
                                                const RectF& region, QString* error) {
    QProgressDialog progress(QObject::tr("Computing the panels' heat…"), QObject::tr("Cancel"), 0,
                             int(requests.size()) * 1000, parent);
    progress.setWindowTitle(QObject::tr("Export Figure"));
    progress.setWindowModality(Qt::WindowModal);
    progress.setMinimumDuration(0);
    std::atomic<bool> cancelled{false};
    std::atomic<int> done{0};
    QFutureWatcher<std::optional<std::vector<RegionCam>>> watcher;
    QObject::connect(&progress, &QProgressDialog::canceled, [&] { cancelled = true; });
    QEventLoop loop;
    QObject::connect(&watcher, &QFutureWatcherBase::finished, &loop, &QEventLoop::quit);
    QTimer timer;  // the worker only writes an atomic; the GUI shows it
    QObject::connect(&timer, &QTimer::timeout, [&] { progress.setValue(done.load()); });
    timer.start(100);
    std::string failure;  // written by the worker before it finishes
    watcher.setFuture(QtConcurrent::run([&]() -> std::optional<std::vector<RegionCam>> {
        RegionCamCallbacks callbacks;
        callbacks.cancelled = [&] { return cancelled.load(); };
        callbacks.progress = [&](std::size_t r, std::size_t n, std::size_t total) {
            done = int(r) * 1000 + (total ? int(1000 * n / total) : 1000);
        };
        try {
            return computeRegionCams(*context.source, *context.model, context.settings, requests,
                                     region, context.resultsRoot, callbacks);
        } catch (const std::exception& e) {
            failure = e.what();
            return std::nullopt;
        }
    }));
    loop.exec();
    timer.stop();
    progress.reset();
    const std::optional<std::vector<RegionCam>> cams = watcher.result();
    if (!failure.empty()) *error = QString::fromStdString(failure);
    if (!cams) return nullptr;
    if (cams->empty() || cams->front().patches == 0) {
        *error = QObject::tr("No analysed patch meets the region (no tissue there?).");
        return nullptr;
    }
    const ImageInfo& info = context.source->info();
    return std::make_unique<ComparisonPanels>(*cams,
                                              QSizeF(double(info.width()), double(info.height())),
                                              context.colours, context.opacity, context.threshold);
}

}  // namespace lucida::ui
