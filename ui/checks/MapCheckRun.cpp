#include "MapCheckRun.h"

#include "model/Model.h"

#include <QMetaObject>
#include <QtConcurrent>

namespace lucida::ui {

MapCheckRun::MapCheckRun(QObject* parent) : QObject(parent) {}

MapCheckRun::~MapCheckRun() {
    cancel();
    future_.waitForFinished();  // the worker posts to this object until it ends
}

void MapCheckRun::cancel() {
    if (cancel_) cancel_->store(true);
}

void MapCheckRun::start(MapCheckRequest request) {
    if (running_) return;
    running_ = true;
    cancel_ = std::make_shared<std::atomic<bool>>(false);
    auto stop = cancel_;
    future_ = QtConcurrent::run([this, stop, request = std::move(request)]() mutable {
        // Everything posted back is queued to this object: it outlives the worker (destructor).
        auto post = [this](auto f) { QMetaObject::invokeMethod(this, f, Qt::QueuedConnection); };
        try {
            request.options.progress = [&](double share, const std::string& what) {
                const QString text = QString::fromStdString(what);
                post([this, share, text] { emit progressed(share, text); });
                return stop->load();
            };
            post([this] { emit progressed(0, tr("reading the image")); });
            const FloatTensor input = mapCheckInput(*request.source, request.model->spec(),
                                                    request.target, request.slice, request.window);
            auto result = std::make_shared<MapCheckResult>(
                runMapCheck(*request.model, input, request.options));
            post([this, result] {
                running_ = false;
                result_ = std::move(*result);
                emit finished();
            });
        } catch (const std::exception& e) {
            const QString message = QString::fromUtf8(e.what());
            const bool wasCancelled = stop->load();
            post([this, message, wasCancelled] {
                running_ = false;
                if (wasCancelled)
                    emit cancelled();
                else
                    emit failed(message);
            });
        }
    });
}

}  // namespace lucida::ui
