#include "tiles/TileCache.h"

#include <cstdlib>  // defines __GLIBC__ on glibc

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace lucida {
namespace {

// Evicted tiles are mapped blocks that go back to the system when freed (useTileAllocator), but
// the decoders' smaller buffers (JPEG state, format conversions) are carved from per-thread malloc
// arenas, whose freed pages glibc keeps. After this much eviction, those free pages are handed
// back (malloc_trim), so resident memory follows the budget while the user pans on.
constexpr std::size_t kTrimAfterEvictedBytes = std::size_t{32} << 20;

void returnFreedMemory() {
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

}  // namespace

TileCache::TileCache(std::size_t budgetBytes) : budget_(budgetBytes) {}

TilePtr TileCache::find(const TileKey& key) {
    std::lock_guard lock(mutex_);
    const auto it = index_.find(key);
    if (it == index_.end()) {
        ++stats_.misses;
        return nullptr;
    }
    ++stats_.hits;
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->tile;
}

bool TileCache::contains(const TileKey& key) const {
    std::lock_guard lock(mutex_);
    return index_.count(key) != 0;
}

void TileCache::insert(const TileKey& key, TilePtr tile, bool pinned) {
    if (!tile) return;
    std::lock_guard lock(mutex_);
    if (const auto it = index_.find(key); it != index_.end()) {
        used_ -= it->second->tile->byteSize();
        pinned = pinned || it->second->pinned;
        lru_.erase(it->second);
        index_.erase(it);
    }
    used_ += tile->byteSize();
    lru_.push_front({key, std::move(tile), pinned});
    index_[key] = lru_.begin();
    evictToBudget();
}

void TileCache::returnFreedMemoryIfDue() {
    {
        std::lock_guard lock(mutex_);
        if (evictedSinceTrim_ < kTrimAfterEvictedBytes) return;
        evictedSinceTrim_ = 0;
    }
    returnFreedMemory();  // without the lock: other threads go on using the cache meanwhile
}

void TileCache::evictToBudget() {
    auto it = lru_.end();
    while (used_ > budget_ && it != lru_.begin()) {
        --it;
        if (it->pinned) continue;
        used_ -= it->tile->byteSize();
        evictedSinceTrim_ += it->tile->byteSize();
        index_.erase(it->key);
        it = lru_.erase(it);
        ++stats_.evictions;
    }
}

void TileCache::removeSource(std::uint64_t sourceId) {
    std::lock_guard lock(mutex_);
    for (auto it = lru_.begin(); it != lru_.end();) {
        if (it->key.sourceId == sourceId) {
            used_ -= it->tile->byteSize();
            index_.erase(it->key);
            it = lru_.erase(it);
        } else {
            ++it;
        }
    }
}

void TileCache::clear() {
    std::lock_guard lock(mutex_);
    lru_.clear();
    index_.clear();
    used_ = 0;
}

void TileCache::setBudget(std::size_t bytes) {
    std::lock_guard lock(mutex_);
    budget_ = bytes;
    evictToBudget();
}

std::size_t TileCache::budget() const {
    std::lock_guard lock(mutex_);
    return budget_;
}

std::size_t TileCache::usedBytes() const {
    std::lock_guard lock(mutex_);
    return used_;
}

std::size_t TileCache::tileCount() const {
    std::lock_guard lock(mutex_);
    return index_.size();
}

TileCache::Stats TileCache::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

}  // namespace lucida
