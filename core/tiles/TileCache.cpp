#include "tiles/TileCache.h"

namespace lucida {

TileCache::TileCache(std::size_t budgetBytes, Counting counting)
    : budget_(budgetBytes), counting_(counting) {}

std::size_t TileCache::cost(const TilePtr& tile) const {
    const std::size_t bytes = tile->byteSize();
    constexpr std::size_t kMapped = std::size_t{128} << 10, kPage = 4096, kHeader = 16;
    if (counting_ == Counting::Bytes || bytes < kMapped) return bytes;
    return (bytes + kHeader + kPage - 1) / kPage * kPage;
}

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
        used_ -= cost(it->second->tile);
        pinned = pinned || it->second->pinned;
        lru_.erase(it->second);
        index_.erase(it);
    }
    used_ += cost(tile);
    lru_.push_front({key, std::move(tile), pinned});
    index_[key] = lru_.begin();
    evictToBudget();
}

void TileCache::evictToBudget() {
    auto it = lru_.end();
    while (used_ > budget_ && it != lru_.begin()) {
        --it;
        if (it->pinned) continue;
        used_ -= cost(it->tile);
        index_.erase(it->key);
        it = lru_.erase(it);
        ++stats_.evictions;
    }
}

void TileCache::removeSource(std::uint64_t sourceId) {
    std::lock_guard lock(mutex_);
    for (auto it = lru_.begin(); it != lru_.end();) {
        if (it->key.sourceId == sourceId) {
            used_ -= cost(it->tile);
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
