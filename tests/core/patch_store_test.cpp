// The per-patch results store (core/analysis/PatchStore) against damage, and the plausibility
// limits of plans and model sidecars. Torch-free: it runs under AddressSanitizer+UBSan (label
// "parsers").
//
// A "run" here is what analyseSlide does with the store: openForWriting (repair), then every patch
// not read back is computed (a pure function of its index, standing in for the model) and appended,
// in batches. Each damaged store must end equal to a clean run, at the clean run's size, and stay
// there over reruns.

#include "analysis/PatchGrid.h"
#include "analysis/PatchStore.h"
#include "fixtures/Fixtures.h"
#include "image/ImageSource.h"
#include "model/ModelError.h"
#include "model/ModelSpec.h"

#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

using namespace lucida;
namespace fs = std::filesystem;

namespace {

constexpr std::size_t kPatches = 40;
constexpr int kClasses = 3, kCamW = 7, kCamH = 5;
constexpr std::size_t kBatch = 8;
const StoreLayout kLayout{"0123456789abcdef", kPatches, kClasses};

// The "model": a deterministic, plausible outcome per patch.
PatchOutcome compute(std::size_t i) {
    PatchOutcome o;
    o.done = true;
    const float a = 0.1f + 0.8f * float(i % 7) / 6, b = (1 - a) * 0.25f;
    o.probabilities = {a, b, 1 - a - b};
    for (int k = 0; k < kCamW * kCamH; ++k) o.cam.push_back(std::sin(0.37f * k + float(i)) * 3);
    return o;
}

struct RunResult {
    std::vector<PatchOutcome> outcomes;
    StoreReport report;
    std::size_t computed = 0;
};

RunResult run(const std::string& path) {
    RunResult r;
    PatchStore store(path, kLayout);
    r.report = store.openForWriting(r.outcomes);
    std::size_t queued = 0;
    for (std::size_t i = 0; i < kPatches; ++i) {
        if (r.outcomes[i].done) continue;
        r.outcomes[i] = compute(i);
        store.append(i, r.outcomes[i], kCamW, kCamH);
        ++r.computed;
        if (++queued % kBatch == 0) store.flush();
    }
    store.flush();
    return r;
}

std::uint64_t fileSize(const std::string& path) {
    std::error_code ec;
    const auto s = fs::file_size(path, ec);
    return ec ? 0 : s;
}

std::uint64_t folderSize(const std::string& folder) {
    std::uint64_t total = 0;
    for (const auto& e : fs::directory_iterator(folder)) total += fs::file_size(e.path());
    return total;
}

std::vector<unsigned char> bytesOf(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void writeBytes(const std::string& path, const std::vector<unsigned char>& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

// A record as the store writes it (valid checksum) with any index and values.
std::vector<unsigned char> record(std::uint32_t index, const std::vector<float>& probabilities,
                                  const std::vector<float>& cam) {
    std::vector<unsigned char> r(4);
    std::memcpy(r.data(), &index, 4);  // the store is little-endian, as is this machine
    for (const auto* v : {&probabilities, &cam})
        for (float f : *v) {
            unsigned char b[4];
            std::memcpy(b, &f, 4);
            r.insert(r.end(), b, b + 4);
        }
    const std::uint32_t crc = crc32c(r.data(), r.size());
    unsigned char c[4];
    std::memcpy(c, &crc, 4);
    r.insert(r.end(), c, c + 4);
    return r;
}

bool sameAsClean(const std::vector<PatchOutcome>& outcomes) {
    if (outcomes.size() != kPatches) return false;
    for (std::size_t i = 0; i < kPatches; ++i) {
        const auto c = compute(i);
        if (!outcomes[i].done || outcomes[i].probabilities != c.probabilities ||
            outcomes[i].cam != c.cam)
            return false;
    }
    return true;
}

const std::uint64_t kRecord = PatchStore::recordSize(kClasses, kCamW, kCamH);
const std::uint64_t kCleanSize = PatchStore::kHeaderSize + kPatches * kRecord;

}  // namespace

class PatchStoreTest : public QObject {
    Q_OBJECT

private slots:
    void crcIsCastagnoli() {
        // The check value of CRC-32C (RFC 3720 / iSCSI): "123456789" -> 0xE3069283.
        QCOMPARE(crc32c("123456789", 9), 0xE3069283u);
        QCOMPARE(crc32c("56789", 5, crc32c("1234", 4)), 0xE3069283u);
    }

    void cleanRunAndReuse() {
        QTemporaryDir dir;
        const std::string path = dir.filePath("patches.bin").toStdString();
        const auto first = run(path);
        QCOMPARE(first.computed, kPatches);
        QCOMPARE(fileSize(path), kCleanSize);
        const auto second = run(path);
        QCOMPARE(second.computed, std::size_t{0});
        QCOMPARE(second.report.loaded, kPatches);
        QVERIFY(second.report.describe(path).empty());
        QVERIFY(sameAsClean(second.outcomes));
        QCOMPARE(fileSize(path), kCleanSize);
    }

    // Each damage: the damaged records are dropped and computed again, the rest reused; the final
    // outcomes equal a clean run's; the store is back at the clean size and stays there over
    // three reruns (set-aside copies of a damaged header included: the folder does not grow).
    void damageIsRepaired_data() {
        QTest::addColumn<QString>("damage");
        QTest::addColumn<int>("recomputedAtLeast");
        QTest::addColumn<QString>("message");
        QTest::newRow("bytes changed") << "bytes" << 1 << "failed their checksum";
        QTest::newRow("index altered") << "index" << 1 << "failed its checksum";
        QTest::newRow("indices duplicated") << "duplicate" << 0 << "repeat patches";
        QTest::newRow("index out of range") << "outofrange" << 0 << "outside the plan";
        QTest::newRow("header damaged") << "header" << int(kPatches) << "moved aside";
        QTest::newRow("older format") << "version1" << int(kPatches) << "older format";
        QTest::newRow("another plan") << "otherplan" << int(kPatches) << "another analysis";
        QTest::newRow("record truncated") << "truncated" << 1 << "incomplete last record";
        QTest::newRow("header truncated") << "headertorn" << int(kPatches) << "incomplete";
        QTest::newRow("probability > 1") << "p>1" << 1 << "impossible values";
        QTest::newRow("probabilities sum") << "sum" << 1 << "impossible values";
        QTest::newRow("map NaN") << "nan" << 1 << "impossible values";
        QTest::newRow("map infinite") << "inf" << 1 << "impossible values";
    }

    void damageIsRepaired() {
        QFETCH(QString, damage);
        QFETCH(int, recomputedAtLeast);
        QFETCH(QString, message);
        QTemporaryDir dir;
        const std::string path = dir.filePath("patches.bin").toStdString();
        run(path);
        auto bytes = bytesOf(path);
        QCOMPARE(bytes.size(), std::size_t(kCleanSize));
        const std::size_t h = PatchStore::kHeaderSize;
        auto recordAt = [&](std::size_t k) { return h + k * kRecord; };
        // Replaces record k by one with valid checksum but these values.
        auto plant = [&](std::size_t k, std::uint32_t index, std::vector<float> p,
                         std::vector<float> cam) {
            const auto r = record(index, p, cam);
            QCOMPARE(r.size(), std::size_t(kRecord));
            std::copy(r.begin(), r.end(), bytes.begin() + std::ptrdiff_t(recordAt(k)));
        };
        const auto c3 = compute(3);
        std::mt19937 random(7);
        if (damage == "bytes") {
            // 20 changed bytes anywhere after the header (the issue's 200 in a store 30 times
            // larger): most records hit, some not.
            for (int i = 0; i < 20; ++i)
                bytes[h + random() % (bytes.size() - h)] ^= std::uint8_t(1 + random() % 255);
        } else if (damage == "index") {
            bytes[recordAt(5)] ^= 0x04;  // record of patch 5 now claims patch 1 or 4's place
        } else if (damage == "duplicate") {
            // Two valid copies of record 10 (first one kept, not counted twice) and a valid
            // record claiming patch 10 with patch 3's values after the real one.
            const std::vector<unsigned char> copy(bytes.begin() + std::ptrdiff_t(recordAt(10)),
                                                  bytes.begin() + std::ptrdiff_t(recordAt(11)));
            bytes.insert(bytes.end(), copy.begin(), copy.end());
            bytes.insert(bytes.end(), copy.begin(), copy.end());
            const auto liar = record(10, c3.probabilities, c3.cam);
            bytes.insert(bytes.end(), liar.begin(), liar.end());
        } else if (damage == "outofrange") {
            const auto r1 = record(kPatches, c3.probabilities, c3.cam),
                       r2 = record(0xFFFFFFFFu, c3.probabilities, c3.cam);
            bytes.insert(bytes.end(), r1.begin(), r1.end());
            bytes.insert(bytes.end(), r2.begin(), r2.end());
        } else if (damage == "header") {
            bytes[30] ^= 0x01;  // the map width: caught by the header's checksum
        } else if (damage == "version1") {
            bytes[7] = '1';
        } else if (damage == "otherplan") {
            PatchStore other(path + ".other", {"fedcba9876543210", kPatches, kClasses});
            std::vector<PatchOutcome> unused;
            other.openForWriting(unused);
            for (std::size_t i = 0; i < kPatches; ++i) other.append(i, compute(i), kCamW, kCamH);
            other.flush();
            bytes = bytesOf(path + ".other");
            fs::remove(path + ".other");
        } else if (damage == "truncated") {
            bytes.resize(bytes.size() - kRecord / 2);
        } else if (damage == "headertorn") {
            bytes.resize(20);
        } else if (damage == "p>1") {
            plant(6, 6, {1.5f, -0.25f, -0.25f}, compute(6).cam);  // sums to 1, outside [0, 1]
        } else if (damage == "sum") {
            plant(6, 6, {0.5f, 0.5f, 0.5f}, compute(6).cam);
        } else if (damage == "nan") {
            auto cam = compute(6).cam;
            cam[4] = std::nanf("");
            plant(6, 6, compute(6).probabilities, cam);
        } else if (damage == "inf") {
            auto cam = compute(6).cam;
            cam[0] = -INFINITY;
            plant(6, 6, compute(6).probabilities, cam);
        }
        writeBytes(path, bytes);

        // A reader (the viewer while a CLI writes) sees only valid records and changes nothing.
        std::vector<PatchOutcome> seen;
        PatchStore(path, kLayout).read(seen);
        for (std::size_t i = 0; i < kPatches; ++i)
            if (seen[i].done) {
                QCOMPARE(seen[i].probabilities, compute(i).probabilities);
                QCOMPARE(seen[i].cam, compute(i).cam);
            }
        QCOMPARE(bytesOf(path), bytes);

        const auto repaired = run(path);
        const std::string said = repaired.report.describe(path);
        qInfo("%s: recomputed %zu; %s", qPrintable(damage), repaired.computed, said.c_str());
        QVERIFY2(QString::fromStdString(said).contains(message), said.c_str());
        QVERIFY(said.rfind(path, 0) == 0);  // names the file
        QVERIFY(repaired.computed >= std::size_t(recomputedAtLeast));
        QVERIFY(repaired.computed < kPatches || recomputedAtLeast == int(kPatches));
        QVERIFY(sameAsClean(repaired.outcomes));
        if (damage == "duplicate" || damage == "outofrange") {
            QCOMPARE(repaired.computed, std::size_t{0});
            QCOMPARE(repaired.report.loaded, kPatches);  // counted once
        }
        if (damage == "duplicate") QCOMPARE(repaired.report.duplicates, std::size_t{3});
        if (damage == "outofrange") QCOMPARE(repaired.report.outOfRange, std::size_t{2});
        QCOMPARE(fileSize(path), kCleanSize);

        // Three reruns: nothing computed, nothing grows (the whole folder).
        const std::uint64_t folder = folderSize(dir.path().toStdString());
        for (int rerun = 0; rerun < 3; ++rerun) {
            const auto again = run(path);
            QCOMPARE(again.computed, std::size_t{0});
            QVERIFY(again.report.describe(path).empty());
            QVERIFY(sameAsClean(again.outcomes));
            QCOMPARE(fileSize(path), kCleanSize);
            QCOMPARE(folderSize(dir.path().toStdString()), folder);
        }
        if (recomputedAtLeast == int(kPatches))
            QVERIFY(!repaired.report.setAside.empty() && fs::exists(repaired.report.setAside));
    }

    // A damaged header every run: the moved-aside copies are capped, the folder stays bounded.
    void setAsideCopiesAreCapped() {
        QTemporaryDir dir;
        const std::string path = dir.filePath("patches.bin").toStdString();
        for (int i = 0; i < 5; ++i) {
            run(path);
            auto bytes = bytesOf(path);
            bytes[0] = 'X';
            writeBytes(path, bytes);
        }
        run(path);
        int asides = 0;
        for (const auto& e : fs::directory_iterator(dir.path().toStdString()))
            asides += e.path().filename().string().rfind("patches.bin.damaged-", 0) == 0;
        QCOMPARE(asides, PatchStore::kSetAsideKept);
        QCOMPARE(fileSize(path), kCleanSize);
    }

    // What the store would refuse to read back, it refuses to write.
    void appendRefusesImpossibleValues() {
        QTemporaryDir dir;
        PatchStore store(dir.filePath("patches.bin").toStdString(), kLayout);
        std::vector<PatchOutcome> outcomes;
        store.openForWriting(outcomes);
        auto bad = compute(1);
        bad.cam[2] = INFINITY;
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, store.append(1, bad, kCamW, kCamH));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                                 store.append(kPatches, compute(1), kCamW, kCamH));
        store.append(1, compute(1), kCamW, kCamH);
        QVERIFY_THROWS_EXCEPTION(std::runtime_error, store.append(2, compute(2), kCamH, kCamW));
    }

    // Readers while one writes: every read sees a prefix of valid records, never a wrong value.
    void readersWhileWriting() {
        QTemporaryDir dir;
        const std::string path = dir.filePath("patches.bin").toStdString();
        std::atomic<bool> writing{true};
        std::size_t reads = 0, mismatches = 0, lastLoaded = 0, shrank = 0;
        std::thread reader([&] {
            while (writing) {
                std::vector<PatchOutcome> seen;
                const auto r = PatchStore(path, kLayout).read(seen);
                ++reads;
                shrank += r.loaded < lastLoaded;
                lastLoaded = r.loaded;
                for (std::size_t i = 0; i < kPatches; ++i)
                    if (seen[i].done && (seen[i].probabilities != compute(i).probabilities ||
                                         seen[i].cam != compute(i).cam))
                        ++mismatches;
            }
        });
        {
            PatchStore store(path, kLayout);
            std::vector<PatchOutcome> outcomes;
            store.openForWriting(outcomes);
            for (std::size_t i = 0; i < kPatches; ++i) {
                store.append(i, compute(i), kCamW, kCamH);
                store.flush();
                std::this_thread::sleep_for(std::chrono::milliseconds(2));
            }
        }
        writing = false;
        reader.join();
        QVERIFY(reads > 5);
        QCOMPARE(mismatches, std::size_t{0});
        QCOMPARE(shrank, std::size_t{0});
    }

    // One writer per folder: a second one (thread or process) is refused until the first lets go,
    // and is told who holds it.
    void lockHasOneWriter() {
        QTemporaryDir dir;
        const std::string folder = dir.path().toStdString();
        std::string holder;
        auto first = ResultsLock::tryAcquire(folder, &holder);
        QVERIFY(first);
        std::unique_ptr<ResultsLock> second;
        std::thread other([&] { second = ResultsLock::tryAcquire(folder, &holder); });
        other.join();
        QVERIFY(!second);
        QCOMPARE(QString::fromStdString(holder),
                 QString("process %1").arg(QCoreApplication::applicationPid()));
        first.reset();
        QVERIFY(ResultsLock::tryAcquire(folder, &holder));

        // Another process (flock(1), the same advisory lock) holds it: refused; then free again.
        QProcess flock;
        flock.start("flock", {dir.filePath("writer.lock"), "-c", "echo locked; sleep 3"});
        QVERIFY(flock.waitForReadyRead(5000));
        QVERIFY(!ResultsLock::tryAcquire(folder, &holder));
        QVERIFY(flock.waitForFinished(10000));
        QVERIFY(ResultsLock::tryAcquire(folder, &holder));
    }

    // Two writers on one store, each taking the lock in turn as analyseSlide does: one
    // consistent store, each patch computed once.
    void twoWritersOneStore() {
        QTemporaryDir dir;
        const std::string folder = dir.path().toStdString(),
                          path = dir.filePath("patches.bin").toStdString();
        std::atomic<std::size_t> computed{0};
        auto writer = [&] {
            std::unique_ptr<ResultsLock> lock;
            std::string holder;
            while (!(lock = ResultsLock::tryAcquire(folder, &holder)))
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
            computed += run(path).computed;
        };
        std::thread a(writer), b(writer);
        a.join();
        b.join();
        QCOMPARE(computed.load(), kPatches);
        QCOMPARE(fileSize(path), kCleanSize);
        std::vector<PatchOutcome> outcomes;
        const auto r = PatchStore(path, kLayout).read(outcomes);
        QCOMPARE(r.records, kPatches);
        QVERIFY(sameAsClean(outcomes));
    }

    // Arbitrary bytes never crash the reader, never allocate more than the file, and what is
    // read back is only ever a valid record.
    void randomFilesAreHarmless() {
        QTemporaryDir dir;
        const std::string path = dir.filePath("patches.bin").toStdString();
        run(path);
        const auto clean = bytesOf(path);
        std::mt19937 random(11);
        for (int trial = 0; trial < 300; ++trial) {
            auto bytes = clean;
            const int kind = trial % 3;
            if (kind == 0) {
                for (int i = 0; i < 1 + trial % 20; ++i)
                    bytes[random() % bytes.size()] = std::uint8_t(random());
            } else if (kind == 1) {
                bytes.resize(random() % bytes.size());
            } else {
                for (auto& b : bytes) b = std::uint8_t(random());
                std::memcpy(bytes.data(), "LUCPATC2", 8);
            }
            writeBytes(path, bytes);
            std::vector<PatchOutcome> seen;
            PatchStore(path, kLayout).read(seen);
            for (std::size_t i = 0; i < kPatches; ++i)
                if (seen[i].done) {
                    QVERIFY(PatchStore::implausible(seen[i], kClasses, kCamW * kCamH).empty());
                    if (kind != 2) QCOMPARE(seen[i].cam, compute(i).cam);
                }
        }
    }

    // Scales: refused with the numbers, or fitted, at once.
    void absurdPlansAreRefusedQuickly() {
        const auto ct = openImage(fixtures::path("dicom/CT_small.dcm"));
        const ImageInfo& info = ct->info();
        QVERIFY(info.displayUnit == LengthUnit::Millimetre);
        PatchGridOptions o;
        o.inputSize = 224;
        o.micronsPerPixel = 0.5;
        // The radiology image and the microscope model: said to be unmappable, naming the file.
        const std::string why = unmappableScale(info, o);
        QVERIFY2(why.find("cannot map the scales") != std::string::npos, why.c_str());
        QVERIFY(why.find("CT_small.dcm") != std::string::npos);
        QVERIFY(why.find("0.5 µm") != std::string::npos);
        QVERIFY(why.find("0.661468 mm") != std::string::npos);
        // Planned anyway (the CT's 0.66 mm as 661 µm): refused at once, with the factor.
        QElapsedTimer timer;
        timer.start();
        try {
            planPatchGrid(info, o);
            QFAIL("planned 1.7 million patches for a 128 x 128 CT");
        } catch (const std::invalid_argument& e) {
            const std::string m = e.what();
            QVERIFY2(m.find("magnified 1322.94 times") != std::string::npos, m.c_str());
            QVERIFY2(m.find("0.5 µm per pixel") != std::string::npos, m.c_str());
            QVERIFY2(m.find("0.661468 mm per pixel") != std::string::npos, m.c_str());
        }
        QVERIFY(timer.elapsed() < 100);
        // Without a model scale the CT has patches at its own pixels, as before.
        QCOMPARE(planPatchGrid(info, {128, {}, {}, 0, 0, false}).patches.size(), std::size_t{1});

        // A slide (0.25 µm/px, 100000 x 80000) with a model at 0.02 µm/px: 12.5x magnified,
        // allowed by the factor but 25 million patches: refused with the count.
        ImageInfo slide;
        slide.path = "big.svs";
        slide.levels = {{100000, 80000, 1.0}};
        slide.mppX = slide.mppY = 0.25;
        o.micronsPerPixel = 0.02;
        timer.restart();
        try {
            planPatchGrid(slide, o);
            QFAIL("planned 25 million patches");
        } catch (const std::invalid_argument& e) {
            const std::string m = e.what();
            QVERIFY2(m.find("cannot plan 24,919,165 patches") != std::string::npos, m.c_str());
            QVERIFY2(m.find("big.svs") != std::string::npos, m.c_str());
        }
        // A model at 100 µm/px on a 3000-pixel crop of it: 7.5 model pixels across, refused.
        slide.levels = {{3000, 2000, 1.0}};
        o.micronsPerPixel = 100;
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, planPatchGrid(slide, o));
        QVERIFY(timer.elapsed() < 1000);
        o.micronsPerPixel = 0.5;  // a sane plan still plans
        QCOMPARE(planPatchGrid(slide, o).patches.size(), std::size_t{7 * 5});
    }

    // Sidecar values that cannot be right: ModelError naming the file, the field and the value.
    void sidecarValuesAreChecked_data() {
        QTest::addColumn<QString>("json");
        QTest::addColumn<QString>("field");
        QTest::addColumn<QString>("value");
        QTest::newRow("mpp 0.001") << R"({"microns_per_pixel": 0.001})"
                                   << "microns_per_pixel"
                                   << "0.001 is outside the plausible 0.05 to 100";
        QTest::newRow("mpp 1e-300") << R"({"microns_per_pixel": 1e-300})"
                                    << "microns_per_pixel"
                                    << "1e-300";
        QTest::newRow("mpp 1e300") << R"({"microns_per_pixel": 1e300})"
                                   << "microns_per_pixel"
                                   << "1e+300";
        QTest::newRow("mpp 0") << R"({"microns_per_pixel": 0})"
                               << "microns_per_pixel"
                               << "positive number, not 0";
        QTest::newRow("mpp -1") << R"({"microns_per_pixel": -1})"
                                << "microns_per_pixel"
                                << "not -1";
        QTest::newRow("mpp text") << R"({"microns_per_pixel": "0.5"})"
                                  << "microns_per_pixel"
                                  << "must be a number";
        QTest::newRow("magnification 0") << R"({"magnification": 0})"
                                         << "magnification"
                                         << "not 0";
        QTest::newRow("magnification 1e9") << R"({"magnification": 1e9})"
                                           << "magnification"
                                           << "1e+09 is outside";
        QTest::newRow("input 1e300") << R"({"input_size": [1e300, 224]})"
                                     << "input_size"
                                     << "8..8192";
        QTest::newRow("input 0") << R"({"input_size": [0, 0]})"
                                 << "input_size"
                                 << "8..8192";
        QTest::newRow("input -5") << R"({"input_size": [-5, 224]})"
                                  << "input_size"
                                  << "8..8192";
        QTest::newRow("input 2.5") << R"({"input_size": [224.5, 224]})"
                                   << "input_size"
                                   << "whole numbers";
        QTest::newRow("std 0") << R"({"std": [0, 0.2, 0.2]})"
                               << "std"
                               << "positive";
        QTest::newRow("std -1") << R"({"std": [0.2, -1, 0.2]})"
                                << "std"
                                << "positive";
        QTest::newRow("std 1e-300") << R"({"std": [1e-300, 0.2, 0.2]})"
                                    << "std"
                                    << "single precision";
        QTest::newRow("mean 1e300") << R"({"mean": [1e300, 0.2, 0.2]})"
                                    << "mean"
                                    << "finite numbers";
    }

    void sidecarValuesAreChecked() {
        QFETCH(QString, json);
        QFETCH(QString, field);
        QFETCH(QString, value);
        QTemporaryDir dir;
        const QString path = dir.filePath("model.json");
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(json.toUtf8());
        f.close();
        QElapsedTimer timer;
        timer.start();
        try {
            readModelSpec(path.toStdString());
            QFAIL("accepted");
        } catch (const ModelError& e) {
            QCOMPARE(QString::fromStdString(e.path()), path);
            const QString reason = QString::fromStdString(e.reason());
            QVERIFY2(reason.contains(field) && reason.contains(value), e.what());
        }
        QVERIFY(timer.elapsed() < 100);
    }

    void sidecarScalesInRangeAreKept() {
        QTemporaryDir dir;
        const QString path = dir.filePath("model.json");
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(R"({"microns_per_pixel": 0.05, "magnification": 40, "input_size": [96, 128]})");
        f.close();
        const auto spec = readModelSpec(path.toStdString());
        QCOMPARE(*spec.micronsPerPixel, 0.05);
        QCOMPARE(*spec.magnification, 40.0);
        QCOMPARE(spec.inputHeight, 96);
        QCOMPARE(spec.inputWidth, 128);
    }
};

QTEST_GUILESS_MAIN(PatchStoreTest)
#include "patch_store_test.moc"
