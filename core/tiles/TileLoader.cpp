#include "tiles/TileLoader.h"

#include "image/ImageError.h"
#include "image/RegionCopy.h"

#include <algorithm>
#include <stdexcept>

namespace lucida {

Rect tileRect(const ImageInfo& info, const TileKey& key) {
    const Level& level = info.level(key.level);
    const Rect cell{key.col * key.tileSize, key.row * key.tileSize, key.tileSize, key.tileSize};
    return clipRect(cell, level.width, level.height);
}

struct TileLoader::Job {
    TileKey key;
    std::shared_ptr<const ImageSource> source;
    std::uint64_t stamp = 0;   // newer requests first
    std::size_t priority = 0;  // then the caller's order
    bool pin = false;
    bool fetched = false;         // someone holds the future: never drop, serve first
    std::uint64_t fetchedAt = 0;  // fetched tiles in the order they were first asked for
    std::vector<std::pair<ClientId, Callback>> waiters;
    std::promise<TilePtr> promise;
    std::shared_future<TilePtr> future = promise.get_future().share();
};

TileLoader::TileLoader(TileCache& cache, int threads) : cache_(cache) {
    if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    for (int i = 0; i < threads; ++i) workers_.emplace_back([this] { workerLoop(); });
}

TileLoader::~TileLoader() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
}

TileLoader::ClientId TileLoader::newClient() { return nextClient_.fetch_add(1); }

std::size_t TileLoader::request(ClientId client, std::shared_ptr<const ImageSource> source,
                                const std::vector<TileKey>& keys, Callback onDone) {
    std::size_t dropped = 0;
    {
        std::lock_guard lock(mutex_);
        const std::uint64_t stamp = ++stamp_;
        // Forget this client's earlier wishes that are not repeated now.
        for (auto it = queued_.begin(); it != queued_.end();) {
            Job& job = **it;
            const auto before = job.waiters.size();
            job.waiters.erase(std::remove_if(job.waiters.begin(), job.waiters.end(),
                                             [&](const auto& w) {
                                                 return w.first == client &&
                                                        std::find(keys.begin(), keys.end(),
                                                                  job.key) == keys.end();
                                             }),
                              job.waiters.end());
            if (job.waiters.size() != before && job.waiters.empty() && !job.fetched) {
                it = queued_.erase(it);
                ++dropped;
            } else {
                ++it;
            }
        }
        stats_.cancelled += dropped;

        for (std::size_t i = 0; i < keys.size(); ++i) {
            const TileKey& key = keys[i];
            if (failed_.count(key) || cache_.contains(key)) continue;
            auto sameKey = [&](const std::shared_ptr<Job>& j) { return j->key == key; };
            auto addWaiter = [&](Job& job) {
                const bool already = std::any_of(job.waiters.begin(), job.waiters.end(),
                                                 [&](const auto& w) { return w.first == client; });
                if (!already) job.waiters.emplace_back(client, onDone);
            };
            if (auto q = std::find_if(queued_.begin(), queued_.end(), sameKey);
                q != queued_.end()) {
                (*q)->stamp = stamp;
                (*q)->priority = i;
                addWaiter(**q);
                continue;
            }
            if (auto r = std::find_if(running_.begin(), running_.end(), sameKey);
                r != running_.end()) {
                addWaiter(**r);
                ++stats_.coalesced;
                continue;
            }
            auto job = std::make_shared<Job>();
            job->key = key;
            job->source = source;
            job->stamp = stamp;
            job->priority = i;
            job->waiters.emplace_back(client, onDone);
            queued_.push_back(std::move(job));
        }
    }
    wake_.notify_all();
    return dropped;
}

void TileLoader::cancel(ClientId client) { request(client, nullptr, {}, nullptr); }

std::shared_future<TilePtr> TileLoader::fetch(std::shared_ptr<const ImageSource> source,
                                              const TileKey& key, bool pin) {
    if (TilePtr cached = cache_.find(key)) {
        if (pin) cache_.insert(key, cached, true);
        std::promise<TilePtr> ready;
        ready.set_value(cached);
        return ready.get_future().share();
    }
    std::shared_future<TilePtr> future;
    {
        std::lock_guard lock(mutex_);
        auto sameKey = [&](const std::shared_ptr<Job>& j) { return j->key == key; };
        if (auto r = std::find_if(running_.begin(), running_.end(), sameKey); r != running_.end()) {
            (*r)->pin = (*r)->pin || pin;
            ++stats_.coalesced;
            return (*r)->future;
        }
        auto q = std::find_if(queued_.begin(), queued_.end(), sameKey);
        if (q == queued_.end()) {
            // The decode may have finished since the look-up above: workers cache a tile and
            // leave running_ under this mutex, so this second look is exact.
            if (cache_.contains(key)) {
                if (TilePtr cached = cache_.find(key)) {
                    if (pin) cache_.insert(key, cached, true);
                    std::promise<TilePtr> ready;
                    ready.set_value(cached);
                    return ready.get_future().share();
                }
            }
            auto job = std::make_shared<Job>();
            job->key = key;
            job->source = std::move(source);
            queued_.push_back(job);
            q = std::prev(queued_.end());
        } else {
            ++stats_.coalesced;
        }
        Job& job = **q;
        if (!job.fetched) job.fetchedAt = ++stamp_;
        job.fetched = true;
        job.pin = job.pin || pin;
        future = job.future;
    }
    wake_.notify_one();
    return future;
}

std::shared_ptr<TileLoader::Job> TileLoader::takeNextJob() {
    // Someone waits on a fetched tile (an analysis's patch, an off-screen render): those go
    // before every view's wishes, oldest first, so a view repainting (each paint a newer request)
    // cannot keep pushing them back. A reader waits for few tiles at a time, so a view waits for
    // few. Then the views' wishes: newest request first, in the caller's order.
    auto best = std::min_element(queued_.begin(), queued_.end(), [](const auto& a, const auto& b) {
        if (a->fetched != b->fetched) return a->fetched;
        if (a->fetched) return a->fetchedAt < b->fetchedAt;
        if (a->stamp != b->stamp) return a->stamp > b->stamp;
        return a->priority < b->priority;
    });
    std::shared_ptr<Job> job = *best;
    queued_.erase(best);
    running_.push_back(job);
    return job;
}

void TileLoader::workerLoop() {
    for (;;) {
        std::shared_ptr<Job> job;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [this] { return stopping_ || !queued_.empty(); });
            if (stopping_) return;
            job = takeNextJob();
        }
        TilePtr tile;
        std::string error;
        try {
            const Rect rect = tileRect(job->source->info(), job->key);
            tile = std::make_shared<const PixelBuffer>(
                job->source->readRegion(job->key.level, rect, job->key.slice));
        } catch (const std::exception& e) {
            error = e.what();
        }
        std::vector<std::pair<ClientId, Callback>> waiters;
        {
            std::lock_guard lock(mutex_);
            running_.erase(std::find(running_.begin(), running_.end(), job));
            waiters = std::move(job->waiters);
            if (error.empty()) {
                // Under the mutex: pin may have been set by a late fetch(), and a fetch() must
                // find the tile either running or cached, never neither.
                cache_.insert(job->key, tile, job->pin);
                ++stats_.decoded;
            } else {
                ++stats_.failed;
                failed_[job->key] = error;
            }
        }
        if (error.empty())
            job->promise.set_value(tile);
        else
            job->promise.set_exception(std::make_exception_ptr(std::runtime_error(error)));
        for (auto& [client, callback] : waiters)
            if (callback) callback(job->key, tile, error);
    }
}

TileLoader::Stats TileLoader::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

std::size_t TileLoader::pendingCount() const {
    std::lock_guard lock(mutex_);
    return queued_.size() + running_.size();
}

}  // namespace lucida
