#pragma once

#include "tiles/TileCache.h"
#include "tiles/TileLoader.h"

#include <QObject>
#include <QString>

namespace lucida::ui {

// The application's one tile cache and decoding pool, seen from the GUI: the loader's worker
// callbacks become queued signals, so widgets only ever hear of tiles on the GUI thread.
class TileService : public QObject {
    Q_OBJECT
public:
    explicit TileService(std::size_t cacheBudgetBytes = TileCache::kDefaultBudgetBytes,
                         int threads = 0, QObject* parent = nullptr);
    ~TileService() override;

    TileCache& cache() { return cache_; }
    TileLoader& loader() { return *loader_; }

    // A callback for TileLoader::request that reports back here, on the GUI thread.
    TileLoader::Callback notifier();

signals:
    void tileArrived(quint64 sourceId);
    void tileFailed(quint64 sourceId, const QString& error);

private:
    TileCache cache_;
    std::unique_ptr<TileLoader> loader_;
};

}  // namespace lucida::ui
