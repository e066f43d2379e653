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

    // What the budget counts. Bytes: the tiles' pixel bytes. Memory: what they take in memory —
    // a block of 128 KiB or more is mapped on its own by malloc (useTileAllocator) and takes
    // whole pages plus one for malloc's header (a 256 KiB tile takes 260 KiB), so a viewer's
    // budget is the memory its tiles hold, not 1.6 % more.
    enum class Counting { Bytes, Memory };

    explicit TileCache(std::size_t budgetBytes = kDefaultBudgetBytes,
                       Counting counting = Counting::Bytes);

    TilePtr find(const TileKey& key);  // counts a hit or miss and marks the tile recently used
    bool contains(const TileKey& key) const;
    void insert(const TileKey& key, TilePtr tile, bool pinned = false);
    void removeSource(std::uint64_t sourceId);
    void clear();

    void setBudget(std::size_t bytes);
    std::size_t budget() const;
    std::size_t usedBytes() const;  // as the budget counts them
    std::size_t tileCount() const;
    Stats stats() const;

private:
    struct Entry {
        TileKey key;
        TilePtr tile;
        bool pinned;
    };
    void evictToBudget();  // mutex held
    std::size_t cost(const TilePtr& tile) const;

    mutable std::mutex mutex_;
    std::list<Entry> lru_;  // front = most recent
    std::unordered_map<TileKey, std::list<Entry>::iterator, TileKeyHash> index_;
    std::size_t budget_;
    Counting counting_;
    std::size_t used_ = 0;
    Stats stats_;
};

}  // namespace lucida
