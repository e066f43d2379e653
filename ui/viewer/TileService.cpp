#include "TileService.h"

#include <QMetaObject>
#include <QPointer>

namespace lucida::ui {

TileService::TileService(std::size_t budget, int threads, QObject* parent)
    : QObject(parent),
      cache_(budget, TileCache::Counting::Memory),  // the budget is the memory tiles take
      loader_(std::make_unique<TileLoader>(cache_, threads)) {}

// The loader (and its threads) goes first, so no callback can reach a half-destroyed service.
TileService::~TileService() { loader_.reset(); }

TileLoader::Callback TileService::notifier() {
    QPointer<TileService> self(this);
    return [self](const TileKey& key, const TilePtr&, const std::string& error) {
        const QString message = QString::fromStdString(error);
        const quint64 id = key.sourceId;
        QMetaObject::invokeMethod(
            self.data(),
            [self, id, message] {
                if (!self) return;
                if (message.isEmpty())
                    emit self->tileArrived(id);
                else
                    emit self->tileFailed(id, message);
            },
            Qt::QueuedConnection);
    };
}

}  // namespace lucida::ui
