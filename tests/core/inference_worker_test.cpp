// The analysis worker's contract (issue 12), like TileLoader's: the newest request wins (the one it
// replaces stops within one batch and publishes nothing once replaced), cancel stops within one
// batch and ends Cancelled, an idle worker (and an idle live analysis) sleeps without polling, and
// destroying a running worker returns within a batch. The model is a stand-in with the analysis's
// callback protocol (batches of 10 ms, cancelled/focus/wholeSlide asked between them, an idle
// live run sleeping on its AnalysisWake), so the suite is torch-free and runs under TSan.

#include "analysis/InferenceWorker.h"

#include <QtTest>

#include <pthread.h>
#include <time.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace {

using namespace lucida;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Generation = InferenceWorker::Generation;

constexpr auto kBatchTime = 10ms;

// CPU time of one thread, in milliseconds.
double cpuMs(clockid_t clock) {
    timespec t{};
    clock_gettime(clock, &t);
    return double(t.tv_sec) * 1e3 + double(t.tv_nsec) / 1e6;
}

// The stand-in model: `settings.batchSize` patches per batch, `settings.slice` batches in all,
// named by resultsRoot. View scope (wholeSlide false): the first two batches are "in view"; then it
// reports idle and sleeps on the wake until the view moves, it is widened or cancelled.
struct FakeModel {
    std::mutex mutex;
    std::map<std::string, int> batches;     // run per request
    std::map<std::string, int> idleWakes;   // an idle live run woken
    std::atomic<clockid_t> threadClock{0};  // the worker thread's CPU clock
    std::atomic<bool> throwNext{false};

    int batchesOf(const std::string& name) {
        std::lock_guard lock(mutex);
        return batches[name];
    }
    int wakesOf(const std::string& name) {
        std::lock_guard lock(mutex);
        return idleWakes[name];
    }

    SlideAnalysis analyse(const AnalysisRequest& r, const AnalysisCallbacks& cb) {
        clockid_t clock{};
        pthread_getcpuclockid(pthread_self(), &clock);
        threadClock = clock;
        if (throwNext.exchange(false)) throw std::runtime_error(r.resultsRoot + ": damaged");
        SlideAnalysis a;
        const int perBatch = r.settings.batchSize, count = r.settings.slice;
        a.outcomes.resize(std::size_t(perBatch * count));
        if (cb.onLoaded) cb.onLoaded(a);
        int done = 0;
        while (done < count) {
            if (cb.cancelled()) return a;
            if (!cb.wholeSlide() && done >= 2) {  // everything in view is done: sleep
                const auto seen = cb.wake->generation();
                if (cb.onIdle) cb.onIdle(a);
                if (cb.cancelled() || cb.wholeSlide()) continue;
                cb.wake->waitAfter(seen);
                std::lock_guard lock(mutex);
                ++idleWakes[r.resultsRoot];
                continue;
            }
            std::this_thread::sleep_for(kBatchTime);  // the model's batch
            for (int i = 0; i < perBatch; ++i)
                a.outcomes[std::size_t(done * perBatch + i)].done = true;
            ++done;
            {
                std::lock_guard lock(mutex);
                ++batches[r.resultsRoot];
            }
            AnalysisProgress p;
            p.done = a.doneCount();
            p.total = a.outcomes.size();
            if (cb.onProgress) cb.onProgress(p);
            if (cb.onBatch) cb.onBatch(a);
        }
        return a;
    }
};

// What was delivered, in order, through InferenceWorker::publish (as the Qt adapter posts).
struct Published {
    std::mutex mutex;
    std::vector<std::pair<Generation, std::string>> events;
    std::vector<AnalysisEnd> ends;

    std::size_t size() {
        std::lock_guard lock(mutex);
        return events.size();
    }
    std::vector<std::pair<Generation, std::string>> eventsFrom(std::size_t first) {
        std::lock_guard lock(mutex);
        return {events.begin() + std::ptrdiff_t(first), events.end()};
    }
    std::size_t endCount() {
        std::lock_guard lock(mutex);
        return ends.size();
    }
    AnalysisEnd end(std::size_t i) {
        std::lock_guard lock(mutex);
        return ends.at(i);
    }
};

// Submits a request of `batches` batches of 4 patches whose every callback delivers through
// publish (as the Qt adapter posts), with the generation onStarted gave it.
Generation submit(InferenceWorker& worker, Published& out, const std::string& name, int batches,
                  bool wholeSlide = true) {
    AnalysisRequest r;
    r.resultsRoot = name;
    r.settings.batchSize = 4;
    r.settings.slice = batches;
    r.wholeSlide = wholeSlide;
    auto generation = std::make_shared<Generation>(0);  // written and read on the worker thread
    const auto deliver = [&worker, &out](Generation g, std::string what) {
        worker.publish(g, [&out, g, what] {
            std::lock_guard lock(out.mutex);
            out.events.emplace_back(g, what);
        });
    };
    r.onStarted = [generation](Generation g) { *generation = g; };
    r.callbacks.onBatch = [=](const SlideAnalysis& a) {
        deliver(*generation, name + " batch " + std::to_string(a.doneCount()));
    };
    r.callbacks.onIdle = [=](const SlideAnalysis&) { deliver(*generation, name + " idle"); };
    r.onFinished = [&worker, &out, generation](const AnalysisEnd& end) {
        worker.publish(end.generation, [&out, end] {
            std::lock_guard lock(out.mutex);
            out.ends.push_back(end);
        });
    };
    return worker.request(std::move(r));
}

template <typename Pred>
bool waitFor(Pred pred, std::chrono::milliseconds timeout = 10s) {
    const auto until = Clock::now() + timeout;
    while (!pred()) {
        if (Clock::now() > until) return false;
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

class InferenceWorkerTest : public QObject {
    Q_OBJECT
private slots:
    // A second request supersedes the first: the first stops within one batch, nothing of it is
    // published after request() returned, and only the second ends (Complete).
    void newestWins() {
        FakeModel model;
        Published out;
        InferenceWorker worker([&](const auto& r, const auto& cb) { return model.analyse(r, cb); });
        const Generation first = submit(worker, out, "first", 200);
        QVERIFY(waitFor([&] { return model.batchesOf("first") >= 3; }));

        const int firstBatchesBefore = model.batchesOf("first");
        const Generation second = submit(worker, out, "second", 3);
        const std::size_t mark = out.size();
        QVERIFY(second > first);
        QVERIFY(waitFor([&] { return out.endCount() >= 1; }));
        QVERIFY(waitFor([&] { return !worker.busy(); }));

        QVERIFY(model.batchesOf("first") <= firstBatchesBefore + 1);  // within one batch
        QCOMPARE(model.batchesOf("second"), 3);
        QCOMPARE(out.endCount(), std::size_t(1));
        QCOMPARE(out.end(0).generation, second);
        QCOMPARE(out.end(0).state, AnalysisEnd::State::Complete);
        QCOMPARE(out.end(0).analysis->doneCount(), std::size_t(12));
        const auto after = out.eventsFrom(mark);
        QCOMPARE(after.size(), std::size_t(3));
        for (const auto& [g, what] : after) {
            QCOMPARE(g, second);
            QVERIFY2(what.rfind("second", 0) == 0, what.c_str());
        }
        QVERIFY(!worker.isCurrent(first));
    }

    // cancel() stops the running analysis within one batch; it ends Cancelled with what is done.
    void cancelStopsWithinABatch() {
        FakeModel model;
        Published out;
        InferenceWorker worker([&](const auto& r, const auto& cb) { return model.analyse(r, cb); });
        const Generation g = submit(worker, out, "run", 200);
        QVERIFY(waitFor([&] { return model.batchesOf("run") >= 2; }));
        const int before = model.batchesOf("run");
        worker.cancel();
        QVERIFY(waitFor([&] { return out.endCount() == 1; }));
        const AnalysisEnd end = out.end(0);
        QCOMPARE(end.generation, g);
        QCOMPARE(end.state, AnalysisEnd::State::Cancelled);
        QVERIFY(model.batchesOf("run") <= before + 1);
        QCOMPARE(end.analysis->doneCount(), std::size_t(model.batchesOf("run") * 4));
        QVERIFY(end.analysis->doneCount() < end.analysis->outcomes.size());
    }

    // An analysis that throws ends Failed with its reason.
    void failureIsReported() {
        FakeModel model;
        Published out;
        model.throwNext = true;
        InferenceWorker worker([&](const auto& r, const auto& cb) { return model.analyse(r, cb); });
        submit(worker, out, "slide.svs", 2);
        QVERIFY(waitFor([&] { return out.endCount() == 1; }));
        QCOMPARE(out.end(0).state, AnalysisEnd::State::Failed);
        QCOMPARE(QString::fromStdString(out.end(0).error), QString("slide.svs: damaged"));
        QVERIFY(!out.end(0).analysis);
    }

    // Idle, the worker thread sleeps: no wake-ups and no CPU time over 300 ms, both when it has
    // nothing to do and when a live analysis has done everything in view. Steering wakes it.
    void idleUsesNoCpu() {
        FakeModel model;
        Published out;
        InferenceWorker worker([&](const auto& r, const auto& cb) { return model.analyse(r, cb); });
        std::atomic<int> drained{0};
        worker.setOnDrained([&] { ++drained; });
        submit(worker, out, "done", 1);
        QVERIFY(waitFor([&] { return drained.load() == 1; }));
        const clockid_t clock = model.threadClock.load();
        const auto wakeUps = worker.wakeUps();
        double cpu = cpuMs(clock);
        std::this_thread::sleep_for(300ms);
        QCOMPARE(worker.wakeUps(), wakeUps);
        QVERIFY2(cpuMs(clock) - cpu < 5, qPrintable(QString::number(cpuMs(clock) - cpu)));

        // Live: two batches in view, then asleep on its wake until the view moves.
        submit(worker, out, "live", 50, false);
        QVERIFY(waitFor([&] { return out.size() >= 3; }));  // 2 batches + idle
        QVERIFY(worker.busy());
        cpu = cpuMs(clock);
        std::this_thread::sleep_for(300ms);
        QCOMPARE(model.wakesOf("live"), 0);
        QCOMPARE(model.batchesOf("live"), 2);
        QVERIFY2(cpuMs(clock) - cpu < 5, qPrintable(QString::number(cpuMs(clock) - cpu)));
        worker.setFocus({0, 0, 100, 100});
        QVERIFY(waitFor([&] { return model.wakesOf("live") == 1; }));
        worker.widenToWholeSlide();  // the rest of the slide, then it ends
        QVERIFY(waitFor([&] { return out.endCount() == 2; }));
        QCOMPARE(out.end(1).state, AnalysisEnd::State::Complete);
        QCOMPARE(model.batchesOf("live"), 50);
        QVERIFY(waitFor([&] { return drained.load() == 2; }));
    }

    // Destroying a worker mid-run returns within about a batch, the analysis stopped.
    void destructionJoinsPromptly() {
        FakeModel model;
        Published out;
        auto worker = std::make_unique<InferenceWorker>(
            [&](const auto& r, const auto& cb) { return model.analyse(r, cb); });
        submit(*worker, out, "long", 500);
        QVERIFY(waitFor([&] { return model.batchesOf("long") >= 2; }));
        const int before = model.batchesOf("long");
        const auto start = Clock::now();
        worker.reset();
        const auto took = Clock::now() - start;
        QVERIFY2(
            took < 150ms,
            qPrintable(QString::number(std::chrono::duration<double, std::milli>(took).count())));
        QVERIFY(model.batchesOf("long") <= before + 1);
        QCOMPARE(out.endCount(), std::size_t(0));  // nobody listens to a worker going away
    }

    // A worker never asked for anything starts no thread and goes at once.
    void unusedWorkerIsFree() {
        const auto start = Clock::now();
        {
            InferenceWorker worker([](const auto&, const auto&) { return SlideAnalysis{}; });
        }
        QVERIFY(Clock::now() - start < 50ms);
    }
};

}  // namespace

QTEST_GUILESS_MAIN(InferenceWorkerTest)
#include "inference_worker_test.moc"
