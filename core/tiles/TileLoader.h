#pragma once

#include "image/ImageSource.h"
#include "tiles/TileCache.h"

#include <atomic>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace lucida {

// The pixels of one tile: the key's tile-grid cell of its level, cut at the level's edge.
Rect tileRect(const ImageInfo& info, const TileKey& key);

// Decodes tiles on a pool of threads into a TileCache.
// - Two requests for the same tile share one decode (coalescing), whoever asked.
// - Each client's latest request() replaces its earlier one: tiles it no longer wants that have
//   not started are dropped (counted as cancelled). The newest request is served first, in the
//   order given (callers put the view's centre first).
// - fetch()ed tiles (someone waits on them: an analysis's patches, an off-screen render) go
//   before every request, in the order they were fetched.
// - Callbacks run on a worker thread; they must be quick and must not call back into the loader
//   under their own locks.
class TileLoader {
public:
    using ClientId = std::uint64_t;
    // tile is null when error is set (the reason, naming the file).
    using Callback =
        std::function<void(const TileKey& key, const TilePtr& tile, const std::string& error)>;

    struct Stats {
        std::uint64_t decoded = 0;
        std::uint64_t coalesced = 0;
        std::uint64_t cancelled = 0;
        std::uint64_t failed = 0;
    };

    explicit TileLoader(TileCache& cache, int threads = 0);  // 0: one per core
    ~TileLoader();
    TileLoader(const TileLoader&) = delete;
    TileLoader& operator=(const TileLoader&) = delete;

    ClientId newClient();

    // Asks for `keys` (most urgent first) on behalf of `client`; tiles already cached are skipped
    // (the caller draws those). Returns how many queued tiles of this client were dropped.
    std::size_t request(ClientId client, std::shared_ptr<const ImageSource> source,
                        const std::vector<TileKey>& keys, Callback onDone);
    void cancel(ClientId client);  // drops all of the client's queued tiles

    // One tile, coalesced with any queued or running decode of it. Pinned tiles stay cached.
    std::shared_future<TilePtr> fetch(std::shared_ptr<const ImageSource> source, const TileKey& key,
                                      bool pin = false);

    TileCache& cache() { return cache_; }
    Stats stats() const;
    std::size_t pendingCount() const;
    int threadCount() const { return static_cast<int>(workers_.size()); }

private:
    struct Job;
    void workerLoop();
    std::shared_ptr<Job> takeNextJob();  // mutex held

    TileCache& cache_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::vector<std::shared_ptr<Job>> queued_;
    std::vector<std::shared_ptr<Job>> running_;
    std::unordered_map<TileKey, std::string, TileKeyHash> failed_;
    std::uint64_t stamp_ = 0;
    std::atomic<ClientId> nextClient_{1};
    Stats stats_;
    std::vector<std::thread> workers_;
};

}  // namespace lucida
