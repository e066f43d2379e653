#pragma once
// One run of the map check (core/checks/MapCheck) on a worker thread: the target is decoded and
// preprocessed there, then explained, randomised and deleted/inserted; progress and the outcome
// come back as queued signals. Cancel is answered within one explanation or one forward batch.

#include "MapCheckTarget.h"
#include "checks/MapCheck.h"

#include <QFuture>
#include <QObject>
#include <QString>

#include <atomic>
#include <memory>

namespace lucida {
class Model;
}

namespace lucida::ui {

struct MapCheckRequest {
    std::shared_ptr<const Model> model;
    std::shared_ptr<const ImageSource> source;
    MapCheckTarget target;
    int slice = 0;
    Window window;            // the grey window the user sees (grey images)
    MapCheckOptions options;  // its progress is the run's own
};

class MapCheckRun : public QObject {
    Q_OBJECT
public:
    explicit MapCheckRun(QObject* parent = nullptr);
    ~MapCheckRun() override;  // cancels and waits for the worker

    void start(MapCheckRequest request);  // ignored while running
    void cancel();
    bool isRunning() const { return running_; }
    const MapCheckResult& result() const { return result_; }  // after finished()
    void waitForFinished() { future_.waitForFinished(); }

signals:
    void progressed(double share, const QString& what);
    void finished();  // result() holds the outcome
    void failed(const QString& message);
    void cancelled();

private:
    QFuture<void> future_;
    std::shared_ptr<std::atomic<bool>> cancel_;
    bool running_ = false;
    MapCheckResult result_;
};

}  // namespace lucida::ui
