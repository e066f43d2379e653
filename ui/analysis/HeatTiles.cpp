#include "HeatTiles.h"

#include "HeatChanges.h"

#include <algorithm>
#include <atomic>
#include <cmath>

namespace lucida::ui {

namespace {

// Image sources count up from 1; derived sources (heat) take ids with the top bit set, so the
// two never share a cache key.
std::uint64_t newDerivedSourceId() {
    static std::atomic<std::uint64_t> next{1};
    return (std::uint64_t{1} << 63) | next.fetch_add(1);
}

// Per target pixel along one axis: the two cells interpolated and the second one's weight, or
// first < 0 past the raster's extent.
struct Tap {
    int first = -1, second = -1;
    float weight = 0;
};

std::vector<Tap> taps(std::int64_t start, int count, double pixelSize, double cellSize, int cells) {
    std::vector<Tap> out(static_cast<std::size_t>(count));
    const double extent = cells * cellSize;
    for (int i = 0; i < count; ++i) {
        const double centre = (static_cast<double>(start + i) + 0.5) * pixelSize;
        if (centre >= extent) break;
        const double u = std::clamp(centre / cellSize - 0.5, 0.0, double(cells - 1));
        const int first = std::min(static_cast<int>(u), cells - 1);
        out[static_cast<std::size_t>(i)] = {first, std::min(first + 1, cells - 1),
                                            static_cast<float>(u - first)};
    }
    return out;
}

}  // namespace

PixelBuffer makeHeatTile(const FloatRaster& r, double pixelSize, std::int64_t col, std::int64_t row,
                         int tileSize, const HeatTiles::Colours& colours, float threshold) {
    PixelBuffer out(tileSize, tileSize, PixelFormat::Rgba8);
    if (r.width <= 0 || r.height <= 0) return out;
    const auto xs = taps(col * tileSize, tileSize, pixelSize, r.cellSize, r.width);
    const auto ys = taps(row * tileSize, tileSize, pixelSize, r.cellSize, r.height);
    for (int y = 0; y < tileSize; ++y) {
        const Tap& ty = ys[static_cast<std::size_t>(y)];
        if (ty.first < 0) break;
        const float* rows[2] = {r.values.data() + static_cast<std::size_t>(ty.first) * r.width,
                                r.values.data() + static_cast<std::size_t>(ty.second) * r.width};
        const float wy[2] = {1 - ty.weight, ty.weight};
        std::uint8_t* line = out.row(y);
        for (int x = 0; x < tileSize; ++x) {
            const Tap& tx = xs[static_cast<std::size_t>(x)];
            if (tx.first < 0) break;
            const int cx[2] = {tx.first, tx.second};
            const float wx[2] = {1 - tx.weight, tx.weight};
            float sum = 0, weight = 0;
            for (int j = 0; j < 2; ++j)
                for (int i = 0; i < 2; ++i) {
                    const float v = rows[j][cx[i]];
                    if (std::isnan(v) || v < threshold) continue;  // a hole
                    const float w = wy[j] * wx[i];
                    sum += w * v, weight += w;
                }
            if (weight <= 0) continue;
            const float value = std::clamp(sum / weight, 0.0f, 1.0f);
            const auto& c = colours[static_cast<std::size_t>(std::lround(255 * value))];
            std::uint8_t* p = line + 4 * static_cast<std::size_t>(x);
            p[0] = c[0], p[1] = c[1], p[2] = c[2];
            p[3] = static_cast<std::uint8_t>(std::lround(255 * std::min(weight, 1.0f)));
        }
    }
    return out;
}

HeatTiles::Colours colourTable(ColourMap colours) {
    FloatTensor ramp({1, 256});
    for (int i = 0; i < 256; ++i) ramp.data[static_cast<std::size_t>(i)] = i / 255.0f;
    const PixelBuffer lut = colouriseMap(ramp, colours);
    HeatTiles::Colours table{};
    for (int i = 0; i < 256; ++i) {
        const std::uint8_t* c = lut.rgbaAt(i, 0);
        table[static_cast<std::size_t>(i)] = {c[0], c[1], c[2]};
    }
    return table;
}

// What tiles are made of: immutable but for the halved copies, made on the worker when a level
// needs one that did not come made ahead.
struct HeatTiles::Content {
    std::shared_ptr<const FloatRaster> raster;
    Colours colours{};
    float threshold = 0;
    int generation = 0;
    mutable std::mutex reducedMutex;
    mutable std::vector<std::shared_ptr<const FloatRaster>> reduced;

    bool drawable() const { return raster && raster->width > 0 && raster->height > 0; }

    // Halved while a cell stays no larger than a heat pixel: each pixel then averages the cells
    // it covers instead of sampling a few of them (which aliases into a plaid of the grid).
    int halvingsFor(int level) const {
        const double pixel = std::ldexp(1.0, level);
        int halvings = 0;
        while (raster->cellSize * std::ldexp(1.0, halvings + 1) <= pixel && halvings < 40)
            ++halvings;
        return halvings;
    }

    std::shared_ptr<const FloatRaster> rasterFor(int level, std::atomic<int>& made) const {
        const std::size_t wanted = static_cast<std::size_t>(halvingsFor(level));
        std::lock_guard lock(reducedMutex);
        while (reduced.size() < wanted) {
            const FloatRaster& from = reduced.empty() ? *raster : *reduced.back();
            if (from.width < 2 || from.height < 2) break;
            reduced.push_back(std::make_shared<const FloatRaster>(halveRaster(from)));
            ++made;
        }
        const std::size_t halvings = std::min(wanted, reduced.size());
        return halvings == 0 ? raster : reduced[halvings - 1];
    }
};

struct HeatTiles::Job {
    TileKey key;
    std::shared_ptr<std::promise<TilePtr>> promise;  // fetches only
    std::shared_future<TilePtr> future;
};

namespace {
std::shared_future<TilePtr> ready(TilePtr tile) {
    std::promise<TilePtr> p;
    p.set_value(std::move(tile));
    return p.get_future().share();
}
}  // namespace

HeatTiles::HeatTiles(std::function<void()> arrived)
    : sourceId_(newDerivedSourceId()), arrived_(std::move(arrived)) {}

HeatTiles::~HeatTiles() { stop(); }

void HeatTiles::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        jobs_.clear();
    }
    wake_.notify_all();
    if (worker_.joinable()) worker_.join();
    idle_.notify_all();
}

void HeatTiles::startWorker() {
    if (!worker_.joinable() && !stopping_) worker_ = std::thread([this] { workerLoop(); });
}

void HeatTiles::setContent(std::shared_ptr<const FloatRaster> raster,
                           std::vector<std::shared_ptr<const FloatRaster>> reduced,
                           ColourMap colours, double threshold, TileCache& cache) {
    auto next = std::make_shared<Content>();
    next->raster = std::move(raster);
    next->reduced = std::move(reduced);
    next->colours = colourTable(colours);
    next->threshold = static_cast<float>(threshold);
    TileCache* dropFrom = nullptr;
    bool compare = false, full = false;
    {
        std::lock_guard lock(mutex_);
        const Content* now = content_.get();
        // A new result of the same analysis drawn the same way: compared on the worker.
        const bool sameAnalysis = now && now->drawable() && next->drawable() && cache_ == &cache &&
                                  now->colours == next->colours &&
                                  now->threshold == next->threshold &&
                                  now->raster->width == next->raster->width &&
                                  now->raster->height == next->raster->height &&
                                  now->raster->cellSize == next->raster->cellSize;
        if (sameAnalysis) {
            next->generation = generation_;
            if (now->raster != next->raster && !compareFrom_) compareFrom_ = content_;
            compare = compareFrom_ != nullptr;
        } else {
            full = true;
            next->generation = ++generation_;
            compareFrom_.reset();
            made_.clear();
            stale_.clear();
            std::erase_if(jobs_, [](const Job& j) { return !j.promise; });
            dropFrom = cache_;
        }
        cache_ = &cache;
        content_ = std::move(next);
        if (compare) startWorker();
    }
    if (compare) wake_.notify_all();
    // Outside the lock; the worker caches no tile of an older generation after the bump above.
    if (dropFrom && dropFrom != &cache) dropFrom->removeSource(sourceId_);
    if (full) cache.removeSource(sourceId_);
}

std::vector<std::shared_ptr<const FloatRaster>> HeatTiles::reduced() const {
    std::shared_ptr<const Content> content;
    {
        std::lock_guard lock(mutex_);
        content = content_;
    }
    if (!content) return {};
    std::lock_guard lock(content->reducedMutex);
    return content->reduced;
}

bool HeatTiles::hasContent() const {
    std::lock_guard lock(mutex_);
    return content_ && content_->drawable();
}

int HeatTiles::levelFor(double scale) {
    if (!(scale > 0) || scale >= 1) return 0;
    return std::clamp(static_cast<int>(std::floor(std::log2(1.0 / scale) + 1e-9)), 0, 40);
}

int HeatTiles::coarsestLevel(double extent) {
    if (!(extent > kTileSize)) return 0;
    return std::clamp(static_cast<int>(std::ceil(std::log2(extent / kTileSize) - 1e-9)), 0, 40);
}

TileKey HeatTiles::key(int level, std::int64_t col, std::int64_t row) const {
    TileKey k;
    k.sourceId = sourceId_;
    k.level = level;
    {
        std::lock_guard lock(mutex_);
        k.slice = generation_;  // the drawing's: a tile of older colours is never taken for it
    }
    k.col = col;
    k.row = row;
    k.tileSize = kTileSize;
    return k;
}

bool HeatTiles::isCurrent(const TileKey& key) const {
    return cache_ && key.slice == generation_ && !stale_.count(key) && cache_->contains(key);
}

HeatTiles::Cached HeatTiles::cached(const TileKey& key) {
    std::lock_guard lock(mutex_);
    if (!cache_ || !cache_->contains(key)) return {};  // no miss counted for a backdrop look
    TilePtr tile = cache_->find(key);
    return {tile, tile && key.slice == generation_ && !stale_.count(key)};
}

void HeatTiles::request(const std::vector<TileKey>& keys) {
    std::lock_guard lock(mutex_);
    std::erase_if(jobs_, [](const Job& j) { return !j.promise; });
    if (stopping_ || !content_ || !content_->drawable()) return;
    for (const TileKey& key : keys) {
        if (key.sourceId != sourceId_ || key.slice != generation_ || isCurrent(key)) continue;
        if (std::any_of(jobs_.begin(), jobs_.end(), [&](const Job& j) { return j.key == key; }))
            continue;
        jobs_.push_back({key, nullptr, {}});
    }
    if (jobs_.empty()) return;
    startWorker();
    wake_.notify_one();
}

std::shared_future<TilePtr> HeatTiles::fetch(const TileKey& key) {
    std::lock_guard lock(mutex_);
    if (stopping_ || !content_ || !content_->drawable() || key.sourceId != sourceId_ ||
        key.slice != generation_)
        return ready(nullptr);
    if (isCurrent(key))
        if (TilePtr tile = cache_->find(key)) return ready(std::move(tile));
    for (const Job& j : jobs_)
        if (j.key == key && j.promise) return j.future;
    std::erase_if(jobs_, [&](const Job& j) { return j.key == key; });
    Job job{key, std::make_shared<std::promise<TilePtr>>(), {}};
    job.future = job.promise->get_future().share();
    jobs_.push_front(job);
    startWorker();
    wake_.notify_one();
    return job.future;
}

void HeatTiles::waitIdle() {
    std::unique_lock lock(mutex_);
    idle_.wait(lock, [this] { return stopping_ || (!busy_ && !compareFrom_ && jobs_.empty()); });
}

std::vector<std::thread::id> HeatTiles::makerThreads() const {
    std::lock_guard lock(mutex_);
    return makers_;
}

void HeatTiles::workerLoop() {
    std::unique_lock lock(mutex_);
    for (;;) {
        wake_.wait(lock, [this] { return stopping_ || compareFrom_ || !jobs_.empty(); });
        if (stopping_) return;
        busy_ = true;
        if (compareFrom_)
            compareResults(lock);
        else
            makeTile(lock);
        busy_ = false;
        if (!compareFrom_ && jobs_.empty()) idle_.notify_all();
    }
}

// A new result: the tiles made so far over cells whose values changed become stale, at every
// level (a coarse tile reads the halved copy, whose cells cover 2^h of the raster's).
void HeatTiles::compareResults(std::unique_lock<std::mutex>& lock) {
    const std::shared_ptr<const Content> before = std::move(compareFrom_);
    compareFrom_.reset();
    const std::shared_ptr<const Content> after = content_;
    lock.unlock();
    const HeatChanges changes(*before->raster, *after->raster);
    lock.lock();
    if (changes.none() || after->generation != generation_ || !cache_) return;
    std::uint64_t marked = 0;
    for (auto it = made_.begin(); it != made_.end();) {
        if (!cache_->contains(*it)) {  // evicted: made afresh when next asked for
            stale_.erase(*it);
            it = made_.erase(it);
            continue;
        }
        const CellRange r = cellsUnderTile(after->raster->cellSize, after->halvingsFor(it->level),
                                           it->level, it->col, it->row, kTileSize);
        if (changes.any(r.x0, r.y0, r.x1, r.y1) && stale_.insert(*it).second) ++marked;
        ++it;
    }
    tilesMarkedStale_ += marked;
    if (marked && arrived_) {
        lock.unlock();
        arrived_();
        lock.lock();
    }
}

void HeatTiles::makeTile(std::unique_lock<std::mutex>& lock) {
    Job job = std::move(jobs_.front());
    jobs_.pop_front();
    const std::shared_ptr<const Content> content = content_;
    if (!content || !content->drawable() || job.key.slice != generation_) {
        if (job.promise) job.promise->set_value(nullptr);
        return;
    }
    if (isCurrent(job.key))  // made for a fetch since it was asked for
        if (TilePtr tile = cache_->find(job.key)) {
            if (job.promise) job.promise->set_value(std::move(tile));
            return;
        }
    lock.unlock();
    const auto raster = content->rasterFor(job.key.level, reductionsMade_);
    auto tile = std::make_shared<const PixelBuffer>(
        makeHeatTile(*raster, std::ldexp(1.0, job.key.level), job.key.col, job.key.row, kTileSize,
                     content->colours, content->threshold));
    ++tilesMade_;
    lock.lock();
    const auto self = std::this_thread::get_id();
    if (std::find(makers_.begin(), makers_.end(), self) == makers_.end()) makers_.push_back(self);
    if (job.key.slice == generation_ && cache_) {
        cache_->insert(job.key, tile);
        stale_.erase(job.key);
        made_.insert(job.key);
        if (made_.size() >= pruneAt_) pruneMade();
    }
    if (job.promise) job.promise->set_value(tile);
    if (arrived_) {
        lock.unlock();
        arrived_();
        lock.lock();
    }
}

void HeatTiles::pruneMade() {
    for (auto it = made_.begin(); it != made_.end();) {
        if (cache_->contains(*it)) {
            ++it;
        } else {
            stale_.erase(*it);
            it = made_.erase(it);
        }
    }
    pruneAt_ = std::max<std::size_t>(4096, 2 * made_.size());
}

}  // namespace lucida::ui

namespace lucida::ui {

std::shared_ptr<const FloatRaster> smoothWholeImageCam(const SlideAnalysis& a,
                                                       const FloatRaster& stitched, float low,
                                                       float high) {
    if (!a.grid.wholeImage || a.outcomes.empty() || !a.outcomes.front().done || a.camWidth <= 0 ||
        a.camHeight <= 0 || stitched.width <= 0 || stitched.height <= 0)
        return nullptr;
    const Patch& p = a.grid.patches.front();
    const std::vector<float>& cam = a.outcomes.front().cam;
    if (cam.size() != static_cast<std::size_t>(a.camWidth) * a.camHeight) return nullptr;
    const double cellX = p.width / a.camWidth, cellY = p.height / a.camHeight;
    // Eight times finer than the stitched raster (32 samples across the map's shorter cell): the
    // tiles' second interpolation then departs from explain's by a fraction of a colour level
    // beside the map's cell centres (where its slope turns).
    FloatRaster grid;
    grid.cellSize = std::max(stitched.cellSize / 8, 0.5);
    grid.width = static_cast<int>(std::ceil(p.width / grid.cellSize - 1e-9));
    grid.height = static_cast<int>(std::ceil(p.height / grid.cellSize - 1e-9));
    grid.values.resize(static_cast<std::size_t>(grid.width) * grid.height);
    auto xs = taps(0, grid.width, grid.cellSize, cellX, a.camWidth);
    auto ys = taps(0, grid.height, grid.cellSize, cellY, a.camHeight);
    // Raster pixels centred past the image's edge (its last ones): the edge value, as OpenCV's
    // border replication, so the tiles' interpolation up to the edge stays explain's.
    const auto toEdge = [](std::vector<Tap>& axis, int cells) {
        for (Tap& t : axis)
            if (t.first < 0) t = {cells - 1, cells - 1, 0.0f};
    };
    toEdge(xs, a.camWidth);
    toEdge(ys, a.camHeight);
    auto out = std::make_shared<FloatRaster>(std::move(grid));
    const float range = high - low;
    for (int y = 0; y < out->height; ++y)
        for (int x = 0; x < out->width; ++x) {
            const Tap& tx = xs[static_cast<std::size_t>(x)];
            const Tap& ty = ys[static_cast<std::size_t>(y)];
            const auto at = [&](int cx, int cy) {
                return cam[static_cast<std::size_t>(cy) * a.camWidth + cx];
            };
            float v = 0;
            if (tx.first >= 0 && ty.first >= 0) {
                const float top =
                    at(tx.first, ty.first) * (1 - tx.weight) + at(tx.second, ty.first) * tx.weight;
                const float bottom = at(tx.first, ty.second) * (1 - tx.weight) +
                                     at(tx.second, ty.second) * tx.weight;
                v = top * (1 - ty.weight) + bottom * ty.weight;
            }
            out->values[static_cast<std::size_t>(y) * out->width + x] =
                range > 0 ? std::clamp((v - low) / range, 0.0f, 1.0f) : 0.0f;
        }
    return out;
}

}  // namespace lucida::ui
