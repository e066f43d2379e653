// Batch sizes chosen from free memory (cam/Batching.h), the out-of-memory fallback, and the
// precision option: bf16 maps against float32 maps, fp16 refused on the CPU. Models and inputs are
// the Python reference data (tests/reference/make_cam_reference.py).
#include "cam/Batching.h"
#include "cam/Explainer.h"
#include "model/Model.h"

// Before Qt, whose `slots` macro LibTorch's headers do not survive.
#include <torch/torch.h>

#include <QFile>
#include <QtTest>

#include <cmath>
#include <cstdlib>
#include <map>
#include <memory>
#include <numeric>

using namespace lucida;

namespace {

QString referenceDir() {
    const char* d = std::getenv("LUCIDA_REFERENCE_DIR");
    return d ? QString(d) : QStringLiteral("reference");
}

// The reference input of a model ([2, 3, H, W], float32).
FloatTensor readInput(const QString& file, std::int64_t h, std::int64_t w) {
    FloatTensor t({2, 3, h, w});
    QFile f(referenceDir() + "/" + file);
    if (!f.open(QIODevice::ReadOnly)) qFatal("cannot read %s", qPrintable(f.fileName()));
    const QByteArray bytes = f.readAll();
    if (bytes.size() != static_cast<qsizetype>(t.data.size() * sizeof(float)))
        qFatal("size mismatch in %s", qPrintable(file));
    std::memcpy(t.data.data(), bytes.constData(), static_cast<std::size_t>(bytes.size()));
    return t;
}

// Five different images from the two reference ones: as they are, mirrored, and darker.
FloatTensor fiveImages(const FloatTensor& two) {
    const auto c = two.size(1), h = two.size(2), w = two.size(3), per = c * h * w;
    FloatTensor out({5, c, h, w});
    for (std::int64_t i = 0; i < 5; ++i) {
        const float* src = two.data.data() + (i % 2) * per;
        float* dst = out.data.data() + i * per;
        for (std::int64_t k = 0; k < c; ++k)
            for (std::int64_t y = 0; y < h; ++y)
                for (std::int64_t x = 0; x < w; ++x) {
                    const auto at = (k * h + y) * w + x;
                    const auto mirrored = (k * h + y) * w + (w - 1 - x);
                    dst[at] = i < 2 ? src[at] : i < 4 ? src[mirrored] : 0.5f * src[at] - 0.3f;
                }
    }
    return out;
}

float maxOf(const FloatTensor& t) {
    float m = 0;
    for (float v : t.data) m = std::max(m, std::abs(v));
    return m;
}

double correlation(const std::vector<float>& a, const std::vector<float>& b) {
    const auto n = static_cast<double>(a.size());
    const double ma = std::accumulate(a.begin(), a.end(), 0.0) / n;
    const double mb = std::accumulate(b.begin(), b.end(), 0.0) / n;
    double sab = 0, saa = 0, sbb = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        sab += (a[i] - ma) * (b[i] - mb);
        saa += (a[i] - ma) * (a[i] - ma);
        sbb += (b[i] - mb) * (b[i] - mb);
    }
    return saa > 0 && sbb > 0 ? sab / std::sqrt(saa * sbb) : (saa == sbb ? 1.0 : 0.0);
}

}  // namespace

class ExplainBatchingTest : public QObject {
    Q_OBJECT
    std::map<QString, std::unique_ptr<Model>> models_;

    Model& model(const QString& file) {
        auto& m = models_[file];
        if (!m) m = Model::open((referenceDir() + "/" + file).toStdString());
        return *m;
    }

private slots:
    void initTestCase() { configureTorchThreads(); }

    void precisionNames() {
        QCOMPARE(precisionFromName("fp32"), Precision::Float32);
        QCOMPARE(precisionFromName("fp16"), Precision::Float16);
        QCOMPARE(precisionFromName("bf16"), Precision::BFloat16);
        for (auto p : {Precision::Float32, Precision::Float16, Precision::BFloat16})
            QCOMPARE(precisionFromName(precisionName(p)), p);
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, precisionFromName("fp8"));
    }

    void fp16IsRefusedOnTheCpu() {
        Model& m = model("smallcnn.traced.pt");
        QCOMPARE(QString::fromStdString(m.device()), QStringLiteral("cpu"));
        ExplainOptions o;
        o.precision = Precision::Float16;
        try {
            explain(m, readInput("smallcnn.input.f32", 128, 128), o);
            QFAIL("fp16 on the CPU was not refused");
        } catch (const std::invalid_argument& e) {
            const QString what = e.what();
            QVERIFY2(what.contains("fp16") && what.contains("CUDA") && what.contains("bf16"),
                     qPrintable(what));
        }
        // The chooser probes with the same options: it refuses too, before measuring anything.
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, chooseBatchSize(m, o));
    }

    // bf16 (autocast on the CPU) against float32, the same model and input. bfloat16 keeps 8
    // significant bits, so maps agree loosely: per image, correlation >= 0.99 and max difference
    // <= 10% of the map's maximum (>= 0.9 and <= 40% for Grad-CAM and CAM on ResNet-18, see the
    // data); the same explained class; logits within 5% of the largest logit. Maps, logits and
    // probabilities come back as float32.
    void bf16AgreesWithFp32_data() {
        QTest::addColumn<QString>("file");
        QTest::addColumn<int>("size");
        QTest::addColumn<QString>("input");
        QTest::addColumn<QString>("method");
        QTest::addColumn<double>("minCorrelation");
        QTest::addColumn<double>("maxDifference");  // of the fp32 map's maximum
        for (const QString method : {"gradcam", "gradcam++", "layercam", "cam", "eigencam"}) {
            if (method == "layercam" || method == "eigencam") {  // bf16 is slow on this CPU
                QTest::newRow(qPrintable("smallcnn.scripted." + method))
                    << "smallcnn.scripted.pt" << 128 << "smallcnn.input.f32" << method << 0.99
                    << 0.1;
                continue;
            }
            // Grad-CAM and CAM at ResNet-18's layer4 sum 512 channels with signed weights that
            // largely cancel (random weights): bf16's error in the activations stands out more
            // there. Measured here: correlation 0.93-0.97, max difference 0.23-0.34.
            const bool cancelling = method == "gradcam" || method == "cam";
            QTest::newRow(qPrintable("resnet18.traced." + method))
                << "resnet18.traced.pt" << 224 << "resnet18.input.f32" << method
                << (cancelling ? 0.9 : 0.99) << (cancelling ? 0.4 : 0.1);
            QTest::newRow(qPrintable("smallcnn.scripted." + method))
                << "smallcnn.scripted.pt" << 128 << "smallcnn.input.f32" << method << 0.99 << 0.1;
        }
        QTest::newRow("resnet18.pth.gradcam")
            << "statedict/resnet18.pth" << 224 << "resnet18.input.f32"
            << "gradcam" << 0.9 << 0.4;
        QTest::newRow("smallcnn.traced.scorecam")
            << "smallcnn.traced.pt" << 128 << "smallcnn.input.f32"
            << "scorecam" << 0.99 << 0.1;
    }

    void bf16AgreesWithFp32() {
        QFETCH(QString, file);
        QFETCH(int, size);
        QFETCH(QString, input);
        QFETCH(QString, method);
        QFETCH(double, minCorrelation);
        QFETCH(double, maxDifference);
        Model& m = model(file);
        const FloatTensor x = readInput(input, size, size);
        ExplainOptions o;
        o.method = method.toStdString();
        const auto full = explain(m, x, o);
        o.precision = Precision::BFloat16;
        const auto half = explain(m, x, o);
        QCOMPARE(half.size(), full.size());
        std::vector<double> correlations, differences;
        for (std::size_t b = 0; b < full.size(); ++b) {
            QCOMPARE(half[b].explainedClass, full[b].explainedClass);
            float top = 0;
            for (float l : full[b].logits) top = std::max(top, std::abs(l));
            for (std::size_t k = 0; k < full[b].logits.size(); ++k)
                QVERIFY2(std::abs(half[b].logits[k] - full[b].logits[k]) <= 0.05f * top,
                         qPrintable(QStringLiteral("logit %1: bf16 %2, fp32 %3")
                                        .arg(k)
                                        .arg(half[b].logits[k])
                                        .arg(full[b].logits[k])));
            QCOMPARE(half[b].map.shape, full[b].map.shape);
            const float mapMax = maxOf(full[b].map);
            float worst = 0;
            for (std::size_t i = 0; i < full[b].map.data.size(); ++i) {
                QVERIFY(std::isfinite(half[b].map.data[i]));
                worst = std::max(worst, std::abs(half[b].map.data[i] - full[b].map.data[i]));
            }
            correlations.push_back(correlation(half[b].map.data, full[b].map.data));
            differences.push_back(mapMax > 0 ? worst / mapMax : worst);
            qInfo("%s image %zu: correlation %.5f, max difference %.4f of the map's max",
                  qPrintable(QString(QTest::currentDataTag())), b, correlations.back(),
                  differences.back());
            const float sum =
                std::accumulate(half[b].probabilities.begin(), half[b].probabilities.end(), 0.0f);
            QVERIFY(std::abs(sum - 1.0f) < 1e-5f);
        }
        // After every image's numbers are printed.
        for (std::size_t b = 0; b < correlations.size(); ++b) {
            QVERIFY2(
                correlations[b] >= minCorrelation,
                qPrintable(QStringLiteral("image %1: correlation %2").arg(b).arg(correlations[b])));
            QVERIFY2(differences[b] <= maxDifference,
                     qPrintable(QStringLiteral("image %1: max difference %2 of the map's max")
                                    .arg(b)
                                    .arg(differences[b])));
        }
    }

    // The chosen batch grows with the memory given and follows the documented rule.
    void batchFollowsTheMemoryBudget() {
        Model& m = model("resnet18.traced.pt");
        ExplainOptions o;
        BatchSizeOptions b;
        b.freeBytes = std::int64_t{1} << 40;  // 1 TiB: the cap
        const BatchPlan huge = chooseBatchSize(m, o, b);
        QCOMPARE(huge.batchSize, 64);
        QCOMPARE(huge.freeSource, std::string("given"));
        QVERIFY(huge.perImageBytes > 0);
        // Independent bounds on the measured cost of one image (ResNet-18, 224 x 224, float32):
        // at least its largest activation (conv1: 64 x 112 x 112 floats), at most 50 times the
        // sum of all its top-level layer outputs.
        std::int64_t largest = 0, all = 0;
        for (const LayerInfo& l : m.layers()) {
            if (l.name.find('.') != std::string::npos) continue;
            const std::int64_t bytes = 4 * FloatTensor::numel(l.outputShape);
            largest = std::max(largest, bytes);
            all += bytes;
        }
        QCOMPARE(largest, std::int64_t{4 * 64 * 112 * 112});
        qInfo("per image %lld bytes, fixed %lld bytes; largest activation %lld, all %lld",
              static_cast<long long>(huge.perImageBytes), static_cast<long long>(huge.fixedBytes),
              static_cast<long long>(largest), static_cast<long long>(all));
        QVERIFY(huge.perImageBytes >= largest);
        QVERIFY(huge.perImageBytes <= 50 * all);

        b.freeBytes = 1 << 20;  // 1 MiB: less than one image, still one
        QCOMPARE(chooseBatchSize(m, o, b).batchSize, 1);

        // The rule, for the cost measured above (the chooser measures it again on each call).
        const auto per = huge.perImageBytes, fixed = huge.fixedBytes;
        BatchSizeOptions rule;
        int previous = 0;
        for (int images : {1, 2, 3, 5, 9, 17, 40, 64}) {
            // Free memory for exactly `images` images (usable fraction 0.5), and a little less.
            const auto free = 2 * (fixed + images * per);
            QCOMPARE(batchSizeFor(free, per, fixed, rule), images);
            QCOMPARE(batchSizeFor(free - 2, per, fixed, rule), std::max(1, images - 1));
            QVERIFY(batchSizeFor(free, per, fixed, rule) >= previous);
            previous = images;
        }
        QCOMPARE(batchSizeFor(std::int64_t{1} << 40, per, fixed, rule), 64);
        QCOMPARE(batchSizeFor(0, per, fixed, rule), 1);
        rule.maxBatch = 8;
        QCOMPARE(batchSizeFor(std::int64_t{1} << 40, per, fixed, rule), 8);
        rule = {};
        rule.usableFraction = 0.25;
        QCOMPARE(batchSizeFor(4 * (fixed + 9 * per), per, fixed, rule), 9);
        // The chooser applies the same rule to what it measures (within one image: the second
        // measurement may differ by a few bytes).
        b.freeBytes = 2 * (fixed + 9 * per);
        QVERIFY(std::abs(chooseBatchSize(m, o, b).batchSize - 9) <= 1);

        // Asked from the system: MemAvailable (or the cgroup's limit), below the machine's memory.
        std::string source;
        const auto free = freeMemoryBytes("cpu", &source);
        QVERIFY(free && *free > 0);
        QVERIFY2(source == "MemAvailable" || source == "cgroup", source.c_str());
        const BatchPlan measured = chooseBatchSize(m, o);
        QVERIFY(measured.batchSize >= 1 && measured.batchSize <= 64);
        QVERIFY(measured.freeBytes > 0);
    }

    // Score-CAM is probed with Grad-CAM plus one chunk of masked forwards: a larger fixed part.
    void scoreCamPlanHasTheChunk() {
        Model& m = model("smallcnn.traced.pt");
        ExplainOptions o;
        BatchSizeOptions b;
        b.freeBytes = std::int64_t{1} << 30;
        const BatchPlan grad = chooseBatchSize(m, o, b);
        o.method = "scorecam";
        const BatchPlan score = chooseBatchSize(m, o, b);
        QCOMPARE(score.perImageBytes, grad.perImageBytes);
        // At least the chunk's masked inputs (32 x 3 x 128 x 128 floats).
        QVERIFY(score.fixedBytes >= grad.fixedBytes + 4 * 32 * 3 * 128 * 128);
    }

    // The same maps whatever the batch: one at a time, auto, and a budget that gives 2 + 2 + 1.
    void batchedEqualsOneByOne_data() {
        QTest::addColumn<QString>("file");
        QTest::addColumn<int>("size");
        QTest::addColumn<QString>("input");
        QTest::addColumn<QString>("method");
        QTest::newRow("resnet18.traced.gradcam")
            << "resnet18.traced.pt" << 224 << "resnet18.input.f32"
            << "gradcam";
        QTest::newRow("resnet18.pth.layercam")
            << "statedict/resnet18.pth" << 224 << "resnet18.input.f32"
            << "layercam";
        QTest::newRow("smallcnn.scripted.scorecam")
            << "smallcnn.scripted.pt" << 128 << "smallcnn.input.f32"
            << "scorecam";
    }

    void batchedEqualsOneByOne() {
        QFETCH(QString, file);
        QFETCH(int, size);
        QFETCH(QString, input);
        QFETCH(QString, method);
        Model& m = model(file);
        const FloatTensor x = fiveImages(readInput(input, size, size));
        ExplainOptions o;
        o.method = method.toStdString();
        int one = 1;
        const auto single = explainInBatches(m, x, o, one);
        QCOMPARE(one, 1);
        int automatic = 0;
        const auto chosen = explainInBatches(m, x, o, automatic);
        QVERIFY(automatic >= 1);
        BatchSizeOptions b;
        const BatchPlan probe = chooseBatchSize(m, o, b);
        // Memory for two and a half images: batches of 2, 2 and 1.
        b.freeBytes = 2 * probe.fixedBytes + 5 * probe.perImageBytes;
        int two = chooseBatchSize(m, o, b).batchSize;
        QCOMPARE(two, 2);
        const auto pairs = explainInBatches(m, x, o, two);
        QCOMPARE(single.size(), std::size_t{5});
        for (const auto* results : {&chosen, &pairs}) {
            QCOMPARE(results->size(), single.size());
            for (std::size_t i = 0; i < single.size(); ++i) {
                const Explanation& a = single[i];
                const Explanation& e = (*results)[i];
                QCOMPARE(e.explainedClass, a.explainedClass);
                const float top = std::max(1.0f, maxOf(a.map));
                for (std::size_t k = 0; k < a.map.data.size(); ++k)
                    QVERIFY2(std::abs(e.map.data[k] - a.map.data[k]) <= 1e-5f * top,
                             qPrintable(QStringLiteral("image %1 cell %2: %3 vs %4")
                                            .arg(i)
                                            .arg(k)
                                            .arg(e.map.data[k])
                                            .arg(a.map.data[k])));
                for (std::size_t k = 0; k < a.logits.size(); ++k)
                    QVERIFY(std::abs(e.logits[k] - a.logits[k]) <=
                            1e-5f * std::max(1.0f, std::abs(a.logits[k])));
            }
        }
        // The images differ, so the comparison means something.
        QVERIFY(single[0].map.data != single[2].map.data);
    }

    // A batch that runs out of memory is halved and retried; other errors pass through.
    void outOfMemoryHalvesTheBatch() {
        std::vector<std::pair<std::int64_t, std::int64_t>> calls;
        auto fits3 = [&](std::int64_t first, std::int64_t count) {
            calls.emplace_back(first, count);
            if (count > 3)
                throw std::runtime_error(
                    "CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 7.79 GiB total "
                    "capacity; 5.12 GiB already allocated)");
            std::vector<Explanation> out(static_cast<std::size_t>(count));
            for (std::int64_t i = 0; i < count; ++i)
                out[static_cast<std::size_t>(i)].predictedClass = static_cast<int>(first + i);
            return out;
        };
        int batch = 16;
        const auto results = runInBatches(10, batch, fits3);
        QCOMPARE(batch, 2);
        QCOMPARE(results.size(), std::size_t{10});
        for (int i = 0; i < 10; ++i)
            QCOMPARE(results[static_cast<std::size_t>(i)].predictedClass, i);
        // 10 (fails), 5 (fails), then pairs.
        QCOMPARE(calls.front(), std::make_pair(std::int64_t{0}, std::int64_t{10}));
        QCOMPARE(calls[1], std::make_pair(std::int64_t{0}, std::int64_t{5}));
        QCOMPARE(calls.size(), std::size_t{7});

        // One image that does not fit: the error itself.
        batch = 4;
        QVERIFY_THROWS_EXCEPTION(std::runtime_error,
                                 runInBatches(3, batch, [](std::int64_t, std::int64_t) {
                                     throw std::runtime_error("CUDA out of memory.");
                                     return std::vector<Explanation>();
                                 }));
        // Not a memory error: through at once, the batch size unchanged.
        calls.clear();
        batch = 8;
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                                 runInBatches(20, batch, [&](std::int64_t f, std::int64_t c) {
                                     calls.emplace_back(f, c);
                                     throw std::invalid_argument("class 7 out of range");
                                     return std::vector<Explanation>();
                                 }));
        QCOMPARE(calls.size(), std::size_t{1});
        QCOMPARE(batch, 8);
    }

    // LibTorch's own messages for failed allocations are recognised.
    void outOfMemoryMessages() {
        try {
            auto t = torch::empty({std::int64_t{1} << 50});  // 4 PiB
            QFAIL("a 4 PiB allocation succeeded");
        } catch (const c10::Error& e) {
            QVERIFY2(isOutOfMemory(e.what()), e.what());
        }
        QVERIFY(isOutOfMemory("CUDA out of memory. Tried to allocate 20.00 MiB (GPU 0; ...)"));
        QVERIFY(isOutOfMemory(
            "The following operation failed in the TorchScript interpreter.\nRuntimeError: CUDA "
            "out of memory. Tried to allocate 1.00 GiB"));
        QVERIFY(!isOutOfMemory("Expected 4-dimensional input for 4-dimensional weight"));
    }
};

QTEST_APPLESS_MAIN(ExplainBatchingTest)
#include "explain_batching_test.moc"
