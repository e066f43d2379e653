// TileCache (byte budget, LRU order, pinning, stats, thread safety) and TileLoader (coalescing,
// request replacement and cancellation, newest-first order, failures, pinned fetches), the loader
// driven by a fake source that records every decode.
#include <QtTest>

#include "image/ImageError.h"
#include "image/ImageSource.h"
#include "tiles/TileCache.h"
#include "tiles/TileLoader.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

using namespace lucida;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t kTileBytes = 16 * 16 * 4;  // a 16 x 16 Rgba8 tile
// A decode slow enough that the test thread surely acts while it runs, even on a busy machine.
constexpr int kSlowMs = 150;

TileKey key(std::int64_t col, std::int64_t row = 0, std::uint64_t source = 1, int level = 0) {
    return {source, level, 0, col, row, 256};
}

TilePtr smallTile(std::uint8_t fill = 0) {
    auto p = std::make_shared<PixelBuffer>(16, 16, PixelFormat::Rgba8);
    std::fill(p->bytes.begin(), p->bytes.end(), fill);
    return p;
}

// An image that decodes slowly, records what it was asked for and can be told to fail.
class FakeSource final : public ImageSource {
public:
    explicit FakeSource(int delayMs = 5) : delayMs_(delayMs) {
        info_.path = "/fake/slides/case-17.svs";
        info_.format = "fake";
        info_.levels = {{4000, 3000, 1.0}, {2000, 1500, 2.0}};  // 16 x 12 and 8 x 6 tiles
    }
    const ImageInfo& info() const override { return info_; }
    PixelBuffer readRegion(int level, const Rect& rect, int slice) const override {
        {
            std::lock_guard lock(mutex_);
            reads_.push_back({level, rect});
        }
        started_.fetch_add(1);
        std::this_thread::sleep_for(std::chrono::milliseconds(delayMs_.load()));
        if (fail_) throw ImageError(info_.path, "simulated decoder failure");
        PixelBuffer out(int(rect.width), int(rect.height), PixelFormat::Rgba8);
        // Tag the pixels with where they came from.
        if (!out.empty()) {
            out.bytes[0] = std::uint8_t(rect.x / 256);
            out.bytes[1] = std::uint8_t(rect.y / 256);
            out.bytes[2] = std::uint8_t(level);
            out.bytes[3] = std::uint8_t(slice);
        }
        return out;
    }

    int readCount() const {
        std::lock_guard lock(mutex_);
        return int(reads_.size());
    }
    std::vector<std::pair<int, Rect>> reads() const {
        std::lock_guard lock(mutex_);
        return reads_;
    }
    // Waits until `n` decodes have started.
    bool waitStarted(int n) const {
        for (int i = 0; i < 500 && started_.load() < n; ++i) std::this_thread::sleep_for(2ms);
        return started_.load() >= n;
    }
    void setFail(bool f) { fail_ = f; }
    void setDelay(int ms) { delayMs_ = ms; }

private:
    ImageInfo info_;
    std::atomic<int> delayMs_;
    std::atomic<bool> fail_{false};
    mutable std::atomic<int> started_{0};
    mutable std::mutex mutex_;
    mutable std::vector<std::pair<int, Rect>> reads_;
};

// Collects loader callbacks from the worker threads.
struct Collector {
    struct Done {
        TileKey key;
        TilePtr tile;
        std::string error;
    };
    std::mutex mutex;
    std::condition_variable cv;
    std::vector<Done> done;

    TileLoader::Callback callback() {
        // Notified under the lock: a test may destroy the Collector (declared after its loader)
        // as soon as waitFor returns, while the worker would still be notifying (ThreadSanitizer).
        return [this](const TileKey& k, const TilePtr& t, const std::string& e) {
            std::lock_guard lock(mutex);
            done.push_back({k, t, e});
            cv.notify_all();
        };
    }
    bool waitFor(std::size_t n, std::chrono::milliseconds timeout = 5000ms) {
        std::unique_lock lock(mutex);
        return cv.wait_for(lock, timeout, [&] { return done.size() >= n; });
    }
    std::vector<Done> snapshot() {
        std::lock_guard lock(mutex);
        return done;
    }
};

// Decoded rects in order, as "col,row" of 256-px cells.
QStringList readOrder(const FakeSource& src) {
    QStringList out;
    for (const auto& [level, r] : src.reads())
        out << QString("%1,%2").arg(r.x / 256).arg(r.y / 256);
    return out;
}

}  // namespace

class TileCacheTest : public QObject {
    Q_OBJECT

private slots:
    // --- TileCache ---------------------------------------------------------------------------

    void budgetRespected() {
        TileCache cache(10 * kTileBytes);
        for (int i = 0; i < 1000; ++i) {
            cache.insert(key(i), smallTile());
            QVERIFY(cache.usedBytes() <= cache.budget());
        }
        QCOMPARE(cache.usedBytes(), 10 * kTileBytes);
        QCOMPARE(cache.tileCount(), std::size_t(10));
        QCOMPARE(cache.stats().evictions, std::uint64_t(990));
        for (int i = 990; i < 1000; ++i) QVERIFY(cache.contains(key(i)));
        QVERIFY(!cache.contains(key(989)));
        // Re-inserting a key replaces it and does not count its bytes twice.
        cache.insert(key(995), smallTile(7));
        QCOMPARE(cache.usedBytes(), 10 * kTileBytes);
        QCOMPARE(int(cache.find(key(995))->bytes[0]), 7);
        cache.insert(key(5000), nullptr);  // ignored
        QCOMPARE(cache.tileCount(), std::size_t(10));
        cache.clear();
        QCOMPARE(cache.usedBytes(), std::size_t(0));
        QCOMPARE(cache.tileCount(), std::size_t(0));
    }

    void leastRecentlyUsedGoesFirst() {
        TileCache cache(3 * kTileBytes);
        cache.insert(key(0), smallTile());
        cache.insert(key(1), smallTile());
        cache.insert(key(2), smallTile());
        QVERIFY(cache.find(key(0)));  // 0 is now the most recent; 1 the least
        cache.insert(key(3), smallTile());
        QVERIFY(cache.contains(key(0)));
        QVERIFY(!cache.contains(key(1)));
        QVERIFY(cache.contains(key(2)) && cache.contains(key(3)));
        cache.insert(key(4), smallTile());  // order now 4 3 0 2: 2 goes
        QVERIFY(!cache.contains(key(2)));
        QVERIFY(cache.contains(key(0)) && cache.contains(key(3)) && cache.contains(key(4)));
        // contains() only looks: it does not refresh 0, the least recent now.
        QVERIFY(cache.contains(key(0)));
        cache.insert(key(5), smallTile());
        QVERIFY(!cache.contains(key(0)));
        QCOMPARE(cache.stats().evictions, std::uint64_t(3));
    }

    void pinnedTilesStay() {
        TileCache cache(3 * kTileBytes);
        cache.insert(key(100), smallTile(), /*pinned=*/true);
        for (int i = 0; i < 50; ++i) cache.insert(key(i), smallTile());
        QVERIFY(cache.contains(key(100)));
        QCOMPARE(cache.tileCount(), std::size_t(3));
        QCOMPARE(cache.usedBytes(), 3 * kTileBytes);  // the pinned tile counts
        QVERIFY(cache.contains(key(49)) && cache.contains(key(48)));
        // Re-inserting without the flag keeps the pin.
        cache.insert(key(100), smallTile());
        for (int i = 50; i < 60; ++i) cache.insert(key(i), smallTile());
        QVERIFY(cache.contains(key(100)));

        // More pinned bytes than budget: all kept, unpinned newcomers do not stay.
        TileCache tight(2 * kTileBytes);
        for (int i = 0; i < 3; ++i) tight.insert(key(i, 9), smallTile(), true);
        QCOMPARE(tight.usedBytes(), 3 * kTileBytes);
        tight.insert(key(7), smallTile());
        QVERIFY(!tight.contains(key(7)));
        for (int i = 0; i < 3; ++i) QVERIFY(tight.contains(key(i, 9)));
        tight.setBudget(0);
        QCOMPARE(tight.tileCount(), std::size_t(3));
    }

    void removeSourceDropsOnlyThatSource() {
        TileCache cache(100 * kTileBytes);
        for (int i = 0; i < 5; ++i) cache.insert(key(i, 0, 1), smallTile());
        cache.insert(key(9, 0, 1), smallTile(), true);  // pinned tiles go too when the image closes
        for (int i = 0; i < 4; ++i) cache.insert(key(i, 0, 2), smallTile());
        QCOMPARE(cache.tileCount(), std::size_t(10));
        cache.removeSource(1);
        QCOMPARE(cache.tileCount(), std::size_t(4));
        QCOMPARE(cache.usedBytes(), 4 * kTileBytes);
        for (int i = 0; i < 5; ++i) QVERIFY(!cache.contains(key(i, 0, 1)));
        QVERIFY(!cache.contains(key(9, 0, 1)));
        for (int i = 0; i < 4; ++i) QVERIFY(cache.contains(key(i, 0, 2)));
        cache.removeSource(77);  // unknown: nothing happens
        QCOMPARE(cache.tileCount(), std::size_t(4));
    }

    void shrinkingBudgetEvicts() {
        TileCache cache(10 * kTileBytes);
        for (int i = 0; i < 10; ++i) cache.insert(key(i), smallTile());
        for (int i : {2, 4, 6, 8}) QVERIFY(cache.find(key(i)));
        cache.setBudget(4 * kTileBytes);
        QCOMPARE(cache.budget(), 4 * kTileBytes);
        QCOMPARE(cache.usedBytes(), 4 * kTileBytes);
        for (int i = 0; i < 10; ++i) QCOMPARE(cache.contains(key(i)), i % 2 == 0 && i > 0);
        QCOMPARE(cache.stats().evictions, std::uint64_t(6));
        cache.setBudget(100 * kTileBytes);  // growing evicts nothing
        QCOMPARE(cache.tileCount(), std::size_t(4));
    }

    void statsAreExact() {
        TileCache cache(4 * kTileBytes);
        QVERIFY(!cache.find(key(0)));  // miss
        cache.insert(key(0), smallTile());
        cache.insert(key(1), smallTile());
        QVERIFY(cache.find(key(0)));                                      // hit
        QVERIFY(cache.find(key(0)));                                      // hit
        QVERIFY(cache.find(key(1)));                                      // hit
        QVERIFY(!cache.find(key(2)));                                     // miss
        QVERIFY(cache.contains(key(1)));                                  // not counted
        for (int i = 10; i < 15; ++i) cache.insert(key(i), smallTile());  // 3 evictions
        const TileCache::Stats s = cache.stats();
        QCOMPARE(s.hits, std::uint64_t(3));
        QCOMPARE(s.misses, std::uint64_t(2));
        QCOMPARE(s.evictions, std::uint64_t(3));
        // Keys differ in every field: none collide.
        cache.clear();
        cache.setBudget(100 * kTileBytes);
        const TileKey base{5, 1, 2, 3, 4, 256};
        std::vector<TileKey> variants(6, base);
        variants[1].sourceId = 6;
        variants[2].level = 0;
        variants[3].slice = 0;
        variants[4].col = 0;
        variants[5].tileSize = 512;
        for (std::size_t i = 0; i < variants.size(); ++i)
            cache.insert(variants[i], smallTile(std::uint8_t(i)));
        QCOMPARE(cache.tileCount(), variants.size());
        for (std::size_t i = 0; i < variants.size(); ++i)
            QCOMPARE(int(cache.find(variants[i])->bytes[0]), int(i));
    }

    void concurrentUseStaysConsistent() {
        TileCache cache(64 * kTileBytes);
        constexpr int kThreads = 4, kInserts = 2000;
        std::atomic<std::uint64_t> finds{0}, wrongTile{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t)
            threads.emplace_back([&, t] {
                for (int i = 0; i < kInserts; ++i) {
                    cache.insert(key(i, t), smallTile(std::uint8_t(t)));
                    for (int back : {0, 1, 7, 40}) {
                        ++finds;
                        if (TilePtr p = cache.find(key(std::max(0, i - back), t)))
                            if (p->bytes[0] != t) ++wrongTile;
                    }
                    if (i % 97 == 0) (void)cache.usedBytes();
                }
            });
        for (auto& th : threads) th.join();
        const TileCache::Stats s = cache.stats();
        QCOMPARE(wrongTile.load(), std::uint64_t(0));
        QCOMPARE(s.hits + s.misses, finds.load());
        QVERIFY(s.hits > 0);
        QVERIFY(cache.usedBytes() <= cache.budget());
        QCOMPARE(cache.usedBytes(), cache.tileCount() * kTileBytes);
        QCOMPARE(s.evictions + cache.tileCount(), std::uint64_t(kThreads) * kInserts);
    }

    // --- TileLoader --------------------------------------------------------------------------

    void tileRectCutsAtLevelEdge() {
        FakeSource src;
        const ImageInfo& info = src.info();
        QCOMPARE(tileRect(info, key(0, 0)), (Rect{0, 0, 256, 256}));
        QCOMPARE(tileRect(info, key(15, 0)), (Rect{3840, 0, 160, 256}));
        QCOMPARE(tileRect(info, key(15, 11)), (Rect{3840, 2816, 160, 184}));
        QCOMPARE(tileRect(info, key(7, 5, 1, 1)), (Rect{1792, 1280, 208, 220}));
        QCOMPARE(tileRect(info, key(16, 0)), (Rect{}));  // beyond the level
    }

    void concurrentFetchDecodesOnce() {
        auto src = std::make_shared<FakeSource>(80);
        TileCache cache;
        TileLoader loader(cache, 4);
        std::atomic<bool> go{false};
        std::vector<TilePtr> results(8);
        std::vector<std::thread> threads;
        for (int t = 0; t < 8; ++t)
            threads.emplace_back([&, t] {
                while (!go.load()) std::this_thread::yield();
                results[t] = loader.fetch(src, key(1, 2)).get();
            });
        go = true;
        for (auto& th : threads) th.join();
        QCOMPARE(src->readCount(), 1);
        for (const TilePtr& r : results) {
            QVERIFY(r);
            QCOMPARE(r.get(), results[0].get());
        }
        QCOMPARE(results[0]->width, 256);
        QCOMPARE(int(results[0]->bytes[0]), 1);  // came from cell (1, 2)
        QCOMPARE(int(results[0]->bytes[1]), 2);
        QVERIFY2(loader.stats().coalesced > 0, "no fetch was coalesced");
        QCOMPARE(loader.stats().decoded, std::uint64_t(1));
        QVERIFY(cache.contains(key(1, 2)));
        // A later fetch is served from the cache.
        QCOMPARE(loader.fetch(src, key(1, 2)).get().get(), results[0].get());
        QCOMPARE(src->readCount(), 1);
    }

    void racingFetchesNeverDecodeTwice() {
        // Decodes so quick that a fetch often misses the cache just as the decode it would have
        // joined completes: it must then find the tile cached, not decode it again.
        for (int round = 0; round < 20; ++round) {
            auto src = std::make_shared<FakeSource>(0);
            TileCache cache;
            TileLoader loader(cache, 4);
            constexpr int kKeys = 192;  // all of level 0
            std::atomic<int> nullTiles{0};
            std::vector<std::thread> threads;
            for (int t = 0; t < 8; ++t)
                threads.emplace_back([&] {
                    for (int i = 0; i < kKeys; ++i)
                        if (!loader.fetch(src, key(i % 16, i / 16)).get()) ++nullTiles;
                });
            for (auto& th : threads) th.join();
            QCOMPARE(nullTiles.load(), 0);
            QVERIFY2(src->readCount() == kKeys,
                     qPrintable(QString("round %1: %2 decodes of %3 tiles")
                                    .arg(round)
                                    .arg(src->readCount())
                                    .arg(kKeys)));
            QCOMPARE(loader.stats().decoded, std::uint64_t(kKeys));
        }
    }

    void requestDeliversEveryTile() {
        auto src = std::make_shared<FakeSource>(1);
        TileCache cache;
        TileLoader loader(cache, 3);
        QCOMPARE(loader.threadCount(), 3);
        std::vector<TileKey> keys;
        for (int row : {0, 10, 11})
            for (int col : {0, 14, 15}) keys.push_back(key(col, row));
        for (int row : {0, 5})
            for (int col : {6, 7}) keys.push_back(key(col, row, 1, 1));
        Collector got;
        const auto client = loader.newClient();
        QCOMPARE(loader.request(client, src, keys, got.callback()), std::size_t(0));
        QVERIFY(got.waitFor(keys.size()));
        std::this_thread::sleep_for(20ms);
        const auto done = got.snapshot();
        QCOMPARE(done.size(), keys.size());  // once each
        std::map<std::tuple<int, std::int64_t, std::int64_t>, int> seen;
        for (const auto& d : done) {
            QVERIFY2(d.error.empty(), d.error.c_str());
            QVERIFY(d.tile);
            const Rect r = tileRect(src->info(), d.key);
            QCOMPARE(d.tile->width, int(r.width));
            QCOMPARE(d.tile->height, int(r.height));
            QCOMPARE(int(d.tile->bytes[0]), int(d.key.col));
            QCOMPARE(int(d.tile->bytes[1]), int(d.key.row));
            QCOMPARE(int(d.tile->bytes[2]), d.key.level);
            QVERIFY(cache.find(d.key) == d.tile);
            ++seen[{d.key.level, d.key.col, d.key.row}];
        }
        QCOMPARE(seen.size(), keys.size());
        // Edge tiles are cut at the level's edge.
        for (const auto& d : done) {
            if (d.key.level == 0) QCOMPARE(d.tile->width, d.key.col == 15 ? 160 : 256);
            if (d.key.level == 0) QCOMPARE(d.tile->height, d.key.row == 11 ? 184 : 256);
            if (d.key.level == 1) QCOMPARE(d.tile->width, d.key.col == 7 ? 208 : 256);
            if (d.key.level == 1) QCOMPARE(d.tile->height, d.key.row == 5 ? 220 : 256);
        }
        QCOMPARE(loader.stats().decoded, std::uint64_t(keys.size()));
        QCOMPARE(loader.pendingCount(), std::size_t(0));
        // Asking again for cached tiles queues nothing and calls nothing back.
        QCOMPARE(loader.request(client, src, keys, got.callback()), std::size_t(0));
        QCOMPARE(loader.pendingCount(), std::size_t(0));
        std::this_thread::sleep_for(20ms);
        QCOMPARE(got.snapshot().size(), keys.size());
        QCOMPARE(src->readCount(), int(keys.size()));
    }

    void newRequestCancelsQueuedTiles() {
        auto src = std::make_shared<FakeSource>(kSlowMs);
        TileCache cache;
        TileLoader loader(cache, 1);
        Collector got;
        const auto client = loader.newClient();
        loader.request(client, src, {key(0), key(1), key(2), key(3), key(4)}, got.callback());
        QVERIFY(src->waitStarted(1));  // key 0 is decoding, 1..4 wait
        const std::size_t dropped =
            loader.request(client, src, {key(0, 2), key(1, 2), key(2, 2)}, got.callback());
        QCOMPARE(dropped, std::size_t(4));
        QCOMPARE(loader.stats().cancelled, std::uint64_t(4));
        QVERIFY(got.waitFor(4));
        std::this_thread::sleep_for(150ms);  // time for any stray decode to show up
        QStringList delivered;
        for (const auto& d : got.snapshot())
            delivered << QString("%1,%2").arg(d.key.col).arg(d.key.row);
        // The running tile finishes and is delivered; the dropped ones never run.
        QCOMPARE(delivered, (QStringList{"0,0", "0,2", "1,2", "2,2"}));
        QCOMPARE(readOrder(*src), (QStringList{"0,0", "0,2", "1,2", "2,2"}));
        QCOMPARE(loader.stats().decoded, std::uint64_t(4));
        for (int c = 1; c <= 4; ++c) QVERIFY(!cache.contains(key(c)));
    }

    void repeatedKeysAreKept() {
        auto src = std::make_shared<FakeSource>(kSlowMs);
        TileCache cache;
        TileLoader loader(cache, 1);
        Collector got;
        const auto client = loader.newClient();
        loader.request(client, src, {key(0), key(1), key(2)}, got.callback());
        QVERIFY(src->waitStarted(1));
        // Panning a little: tile 2 is still wanted (and now first), tile 1 is not.
        QCOMPARE(loader.request(client, src, {key(2), key(5)}, got.callback()), std::size_t(1));
        QVERIFY(got.waitFor(3));
        std::this_thread::sleep_for(100ms);
        QCOMPARE(readOrder(*src), (QStringList{"0,0", "2,0", "5,0"}));
        QCOMPARE(got.snapshot().size(), std::size_t(3));
        // cancel() drops everything queued for the client.
        loader.request(client, src, {key(10), key(11), key(12)}, got.callback());
        QVERIFY(src->waitStarted(4));
        loader.cancel(client);
        QVERIFY(got.waitFor(4));
        std::this_thread::sleep_for(150ms);
        QCOMPARE(src->readCount(), 4);
        QCOMPARE(loader.stats().cancelled, std::uint64_t(3));
    }

    void newestRequestServedFirst() {
        auto src = std::make_shared<FakeSource>(kSlowMs);
        TileCache cache;
        TileLoader loader(cache, 1);
        Collector got;
        const auto a = loader.newClient(), b = loader.newClient();
        QVERIFY(a != b);
        loader.request(a, src, {key(0), key(1), key(2)}, got.callback());
        QVERIFY(src->waitStarted(1));
        loader.request(b, src, {key(7), key(8)}, got.callback());
        QVERIFY(got.waitFor(5));
        QCOMPARE(readOrder(*src), (QStringList{"0,0", "7,0", "8,0", "1,0", "2,0"}));
        QCOMPARE(loader.stats().cancelled, std::uint64_t(0));  // other clients' wishes stay
    }

    // Counting memory, a 256 x 256 tile (a block malloc maps on its own) takes its pages plus
    // one for malloc's header: three such tiles do not fit a budget of three tiles' bytes.
    void memoryCountingAddsMallocsPage() {
        const TilePtr big = std::make_shared<const PixelBuffer>(256, 256, PixelFormat::Rgba8);
        const std::size_t bytes = big->byteSize(), memory = bytes + 4096;
        TileCache byBytes(3 * bytes), byMemory(3 * bytes, TileCache::Counting::Memory);
        for (int c = 0; c < 3; ++c) {
            byBytes.insert(key(c), big);
            byMemory.insert(key(c), big);
        }
        QCOMPARE(byBytes.tileCount(), std::size_t(3));
        QCOMPARE(byBytes.usedBytes(), 3 * bytes);
        QCOMPARE(byMemory.tileCount(), std::size_t(2));
        QCOMPARE(byMemory.usedBytes(), 2 * memory);
        QVERIFY(!byMemory.contains(key(0)));  // the least recent went
        // Small tiles (from the heap) count their bytes either way.
        TileCache small(10 * kTileBytes, TileCache::Counting::Memory);
        for (int c = 0; c < 12; ++c) small.insert(key(c), smallTile());
        QCOMPARE(small.usedBytes(), 10 * kTileBytes);
    }

    void fetchedTilesGoBeforeNewerRequests() {
        auto src = std::make_shared<FakeSource>(kSlowMs);
        TileCache cache;
        TileLoader loader(cache, 1);
        Collector got;
        const auto view = loader.newClient();
        loader.request(view, src, {key(0), key(1), key(2)}, got.callback());
        QVERIFY(src->waitStarted(1));  // 0 decoding
        auto first = loader.fetch(src, key(5));
        // The view repaints: a newer request must not push the waiting reader back.
        loader.request(view, src, {key(1), key(2), key(3)}, got.callback());
        auto second = loader.fetch(src, key(6));
        QVERIFY(first.get() && second.get());
        QVERIFY(got.waitFor(4));
        std::this_thread::sleep_for(100ms);
        QCOMPARE(readOrder(*src), (QStringList{"0,0", "5,0", "6,0", "1,0", "2,0", "3,0"}));
    }

    void sharedTileCallsBothClients() {
        auto src = std::make_shared<FakeSource>(kSlowMs);
        TileCache cache;
        TileLoader loader(cache, 1);
        Collector ga, gb;
        const auto a = loader.newClient(), b = loader.newClient();
        loader.request(a, src, {key(0), key(1)}, ga.callback());
        QVERIFY(src->waitStarted(1));
        loader.request(b, src, {key(0), key(1)}, gb.callback());  // 0 running, 1 queued
        QVERIFY(ga.waitFor(2) && gb.waitFor(2));
        std::this_thread::sleep_for(50ms);
        QCOMPARE(src->readCount(), 2);
        QCOMPARE(ga.snapshot().size(), std::size_t(2));
        QCOMPARE(gb.snapshot().size(), std::size_t(2));
        QVERIFY(ga.snapshot()[0].tile == gb.snapshot()[0].tile);
    }

    void failureReportedOnceAndNotRetried() {
        auto src = std::make_shared<FakeSource>(2);
        src->setFail(true);
        TileCache cache;
        TileLoader loader(cache, 2);
        Collector got;
        const auto client = loader.newClient();
        loader.request(client, src, {key(3, 1)}, got.callback());
        QVERIFY(got.waitFor(1));
        const auto done = got.snapshot();
        QVERIFY(!done[0].tile);
        QVERIFY2(done[0].error.find(src->info().path) != std::string::npos, done[0].error.c_str());
        QVERIFY2(done[0].error.find("simulated decoder failure") != std::string::npos,
                 done[0].error.c_str());
        QCOMPARE(loader.stats().failed, std::uint64_t(1));
        QVERIFY(!cache.contains(key(3, 1)));
        // Asked again (even once the file would work): not retried, no callback.
        src->setFail(false);
        loader.request(client, src, {key(3, 1)}, got.callback());
        QCOMPARE(loader.pendingCount(), std::size_t(0));
        std::this_thread::sleep_for(60ms);
        QCOMPARE(src->readCount(), 1);
        QCOMPARE(got.snapshot().size(), std::size_t(1));
        // fetch() of a failing tile hands the error over through the future.
        src->setFail(true);
        auto future = loader.fetch(src, key(0, 0, 1, 1));
        try {
            future.get();
            QFAIL("fetch of a failing tile returned a tile");
        } catch (const std::exception& e) {
            QVERIFY2(std::string(e.what()).find(src->info().path) != std::string::npos, e.what());
        }
    }

    void pinnedFetchOutlivesBudget() {
        auto src = std::make_shared<FakeSource>(1);
        TileCache cache(1000);  // less than one 256 x 256 tile
        TileLoader loader(cache, 2);
        const TilePtr pinned = loader.fetch(src, key(0, 0, 1, 1), /*pin=*/true).get();
        QVERIFY(pinned);
        QVERIFY(cache.contains(key(0, 0, 1, 1)));
        QCOMPARE(cache.usedBytes(), pinned->byteSize());
        for (int c = 0; c < 4; ++c) QVERIFY(loader.fetch(src, key(c, 1)).get());
        QVERIFY(cache.contains(key(0, 0, 1, 1)));
        for (int c = 0; c < 4; ++c) QVERIFY(!cache.contains(key(c, 1)));  // over budget: gone
        // Pinning a tile that is already cached keeps it too.
        cache.setBudget(10u << 20);
        QVERIFY(loader.fetch(src, key(2, 2)).get());
        QVERIFY(loader.fetch(src, key(2, 2), true).get());
        cache.setBudget(0);
        QVERIFY(cache.contains(key(2, 2)));
        QVERIFY(cache.contains(key(0, 0, 1, 1)));
        QCOMPARE(cache.tileCount(), std::size_t(2));
    }
};

QTEST_APPLESS_MAIN(TileCacheTest)
#include "tile_cache_test.moc"
