// Deletion/insertion faithfulness on a toy model whose probability is the mean of one known
// region of channel 0: the map that marks the region must beat a random map and its inverse, and
// every AUC must equal the one computed here from the closed form of the toy model.
#include "checks/Faithfulness.h"

#include <QtTest>

#include <random>

using namespace lucida;

namespace {

constexpr std::int64_t kH = 24, kW = 32;
// The region: rows 4..11, columns 8..19 (96 of 768 pixels).
bool inRegion(std::int64_t y, std::int64_t x) { return y >= 4 && y < 12 && x >= 8 && x < 20; }
constexpr std::int64_t kRegion = 8 * 12;

FloatTensor toyImage() {  // 1 in the region, 0 elsewhere, on all three channels
    FloatTensor t({3, kH, kW});
    for (std::int64_t c = 0; c < 3; ++c)
        for (std::int64_t y = 0; y < kH; ++y)
            for (std::int64_t x = 0; x < kW; ++x)
                t.data[static_cast<std::size_t>((c * kH + y) * kW + x)] = inRegion(y, x) ? 1 : 0;
    return t;
}

std::vector<double> regionMean(const FloatTensor& batch) {
    std::vector<double> out;
    for (std::int64_t n = 0; n < batch.size(0); ++n) {
        double sum = 0;
        for (std::int64_t y = 0; y < kH; ++y)
            for (std::int64_t x = 0; x < kW; ++x)
                if (inRegion(y, x))
                    sum += batch.data[static_cast<std::size_t>(((n * 3) * kH + y) * kW + x)];
        out.push_back(sum / kRegion);
    }
    return out;
}

FloatTensor mapOf(float inside, float outside) {
    FloatTensor m({kH, kW});
    for (std::int64_t y = 0; y < kH; ++y)
        for (std::int64_t x = 0; x < kW; ++x)
            m.data[static_cast<std::size_t>(y * kW + x)] = inRegion(y, x) ? inside : outside;
    return m;
}

// The closed form for a map that puts the region first (regionFirst) or last, with mean removal:
// after n pixels, r of them in the region, the probability is 1 - r (1 - m) / |R| (deletion) or
// m + r (1 - m) / |R| (insertion), m = |R| / (H W) the image's mean.
double expectedAuc(bool regionFirst, bool deletion, int steps) {
    const double pixels = kH * kW, m = kRegion / pixels;
    std::vector<double> share, p;
    for (int k = 0; k <= steps; ++k) {
        const auto n = static_cast<std::int64_t>(pixels) * k / steps;
        const auto r =
            regionFirst ? std::min(n, kRegion) : std::max<std::int64_t>(0, n - (kH * kW - kRegion));
        share.push_back(n / pixels);
        const double moved = static_cast<double>(r) * (1 - m) / kRegion;
        p.push_back(deletion ? 1 - moved : m + moved);
    }
    double area = 0;
    for (std::size_t i = 1; i < share.size(); ++i)
        area += (share[i] - share[i - 1]) * (p[i] + p[i - 1]) / 2;
    return area;
}

}  // namespace

class FaithfulnessTest : public QObject {
    Q_OBJECT
private slots:
    void regionMapIsMostFaithful() {
        FaithfulnessOptions o;
        o.removal = Removal::Mean;
        o.steps = 16;
        const FloatTensor image = toyImage();
        const auto region = measureFaithfulness(image, mapOf(1, 0), regionMean, o, 5);
        const auto inverse = measureFaithfulness(image, mapOf(0, 1), regionMean, o);
        FloatTensor noise({kH, kW});
        std::mt19937 rng(3);
        for (float& v : noise.data) v = static_cast<float>(rng() % 1000);
        const auto random = measureFaithfulness(image, noise, regionMean, o);

        QCOMPARE(region.deletion.share.size(), std::size_t{17});
        QCOMPARE(region.deletion.probability.front(), 1.0);
        QVERIFY(std::abs(region.deletion.auc - expectedAuc(true, true, 16)) < 1e-9);
        QVERIFY(std::abs(region.insertion.auc - expectedAuc(true, false, 16)) < 1e-9);
        QVERIFY(std::abs(inverse.deletion.auc - expectedAuc(false, true, 16)) < 1e-9);
        QVERIFY(std::abs(inverse.insertion.auc - expectedAuc(false, false, 16)) < 1e-9);
        // Faithful first, then random, then inverse.
        QVERIFY(region.deletion.auc < random.deletion.auc - 0.2);
        QVERIFY(random.deletion.auc < inverse.deletion.auc - 0.2);
        QVERIFY(region.insertion.auc > random.insertion.auc + 0.2);
        QVERIFY(random.insertion.auc > inverse.insertion.auc + 0.2);
        // The seeded random baseline is about halfway (region spread evenly over the order).
        QVERIFY(std::abs(region.randomDeletion.auc - 0.5 * (1 + kRegion / double(kH * kW))) < 0.08);
        QCOMPARE(region.randomDeletion.auc, random.randomDeletion.auc);  // same seed, same order
    }

    void blurRemovalKeepsMeanAndSmooths() {
        const FloatTensor image = toyImage();
        const FloatTensor blurred = removedImage(image, Removal::Blur, 3.0);
        double before = 0, after = 0;
        for (std::size_t i = 0; i < image.data.size(); ++i) {
            before += image.data[i];
            after += blurred.data[i];
        }
        QVERIFY(std::abs(before - after) / before < 0.02);  // reflected borders keep the mass
        // The region's corner pixel loses heat, a pixel next to the region gains some.
        QVERIFY(blurred.data[4 * kW + 8] < 0.6f);
        QVERIFY(blurred.data[3 * kW + 10] > 0.2f);
    }

    void badInputsAreRefused() {
        const FloatTensor image = toyImage();
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                                 measureFaithfulness(image, FloatTensor({kH, kW + 1}), regionMean));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, removalFromName("erase"));
    }
};

QTEST_APPLESS_MAIN(FaithfulnessTest)
#include "faithfulness_test.moc"
