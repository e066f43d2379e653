#pragma once

#include "tiles/TileKey.h"

#include <cstddef>
#include <list>
#include <mutex>
#include <unordered_map>

namespace lucida {

// Decoded tiles under a byte budget, least recently used evicted first. Pinned tiles (each
// image's coarsest level, the backdrop while finer tiles load) are never evicted and are counted
// in the bytes used. Thread-safe; shared by the viewer and the workers.
class TileCache {
public:
    static constexpr std::size_t kDefaultBudgetBytes = std::size_t{512} << 20;

    struct Stats {
        std::uint64_t hits = 0;
        std::uint64_t misses = 0;
        std::uint64_t evictions = 0;
    };

    explicit TileCache(std::size_t budgetBytes = kDefaultBudgetBytes);

    TilePtr find(const TileKey& key);  // counts a hit or miss and marks the tile recently used
    bool contains(const TileKey& key) const;
    void insert(const TileKey& key, TilePtr tile, bool pinned = false);
    void removeSource(std::uint64_t sourceId);
    // After every 32 MiB evicted: the memory the decoders freed meanwhile (their smaller buffers
    // live in per-thread malloc arenas, whose free pages glibc keeps) goes back to the system
    // (malloc_trim), so resident memory follows the budget while the user pans on. Called by the
    // loader's threads after a decode, holding no lock (it takes a few milliseconds).
    void returnFreedMemoryIfDue();
    void clear();

    void setBudget(std::size_t bytes);
    std::size_t budget() const;
    std::size_t usedBytes() const;
    std::size_t tileCount() const;
    Stats stats() const;

private:
    struct Entry {
        TileKey key;
        TilePtr tile;
        bool pinned;
    };
    void evictToBudget();  // mutex held

    mutable std::mutex mutex_;
    std::list<Entry> lru_;  // front = most recent
    std::unordered_map<TileKey, std::list<Entry>::iterator, TileKeyHash> index_;
    std::size_t budget_;
    std::size_t used_ = 0;
    std::size_t evictedSinceTrim_ = 0;  // bytes evicted since freed memory was last returned
    Stats stats_;
};

}  // namespace lucida
