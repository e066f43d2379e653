// ROAD (remove and debias, Rong et al. 2022) as the faithfulness check's removal: the noisy linear
// imputation solves "each removed pixel is the 1/6–1/12 weighted mean of its eight neighbours"
// (checked against the equations and against successive over-relaxation written here), and on a
// toy model whose probability is the mean of one known region, the map marking that region beats
// a random map and its inverse, with the map-order AUCs equal to those computed here.
#include "checks/Faithfulness.h"
#include "checks/RoadImputation.h"

#include <QtTest>

#include <random>

using namespace lucida;

namespace {

constexpr std::int64_t kH = 24, kW = 32;
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

double regionMeanOf(const float* channel0) {
    double sum = 0;
    for (std::int64_t y = 0; y < kH; ++y)
        for (std::int64_t x = 0; x < kW; ++x)
            if (inRegion(y, x)) sum += channel0[y * kW + x];
    return sum / kRegion;
}

std::vector<double> regionMean(const FloatTensor& batch) {
    std::vector<double> out;
    for (std::int64_t n = 0; n < batch.size(0); ++n)
        out.push_back(regionMeanOf(batch.data.data() + n * 3 * kH * kW));
    return out;
}

FloatTensor mapOf(float inside, float outside) {
    FloatTensor m({kH, kW});
    for (std::int64_t y = 0; y < kH; ++y)
        for (std::int64_t x = 0; x < kW; ++x)
            m.data[static_cast<std::size_t>(y * kW + x)] = inRegion(y, x) ? inside : outside;
    return m;
}

// The same imputation by successive over-relaxation on one channel [H, W] (no noise): removed
// pixels start at the kept pixels' mean (the image's mean when none is kept).
std::vector<double> sorImpute(const float* v, std::int64_t h, std::int64_t w,
                              const std::vector<bool>& removed) {
    std::vector<double> x(v, v + h * w);
    double keptSum = 0, all = 0;
    int kept = 0;
    for (std::int64_t i = 0; i < h * w; ++i) {
        all += v[i];
        if (!removed[std::size_t(i)]) keptSum += v[i], ++kept;
    }
    const double start = kept ? keptSum / kept : all / double(h * w);
    for (std::int64_t i = 0; i < h * w; ++i)
        if (removed[std::size_t(i)]) x[std::size_t(i)] = start;
    for (int sweep = 0; sweep < 200000; ++sweep) {
        double change = 0;
        for (std::int64_t y = 0; y < h; ++y)
            for (std::int64_t xx = 0; xx < w; ++xx) {
                if (!removed[std::size_t(y * w + xx)]) continue;
                double sum = 0, weights = 0;
                for (int dy = -1; dy <= 1; ++dy)
                    for (int dx = -1; dx <= 1; ++dx) {
                        if ((dy == 0 && dx == 0) || y + dy < 0 || y + dy >= h || xx + dx < 0 ||
                            xx + dx >= w)
                            continue;
                        const double wt = (dy == 0 || dx == 0) ? 1.0 / 6 : 1.0 / 12;
                        sum += wt * x[std::size_t((y + dy) * w + xx + dx)];
                        weights += wt;
                    }
                double& cell = x[std::size_t(y * w + xx)];
                const double next = cell + 1.8 * (sum / weights - cell);
                change = std::max(change, std::abs(next - cell));
                cell = next;
            }
        if (change < 1e-11) break;
    }
    return x;
}

// Deletion (first n of `order` removed) or insertion (all but them) of the toy image, without
// noise, as this test computes it: the AUC over steps + 1 points.
double expectedRoadAuc(const std::vector<std::int64_t>& order, bool deletion, int steps) {
    const FloatTensor image = toyImage();
    std::vector<double> share, p;
    for (int k = 0; k <= steps; ++k) {
        const std::int64_t n = kH * kW * k / steps;
        std::vector<bool> removed(std::size_t(kH * kW), !deletion);
        for (std::int64_t i = 0; i < n; ++i) removed[std::size_t(order[std::size_t(i)])] = deletion;
        const auto x = sorImpute(image.data.data(), kH, kW, removed);
        std::vector<float> channel(x.begin(), x.end());
        share.push_back(double(n) / double(kH * kW));
        p.push_back(regionMeanOf(channel.data()));
    }
    double area = 0;
    for (std::size_t i = 1; i < share.size(); ++i)
        area += (share[i] - share[i - 1]) * (p[i] + p[i - 1]) / 2;
    return area;
}

// Pixels in the region first (row-major), then the rest, or the other way round.
std::vector<std::int64_t> regionOrder(bool regionFirst) {
    std::vector<std::int64_t> first, second;
    for (std::int64_t i = 0; i < kH * kW; ++i)
        (inRegion(i / kW, i % kW) == regionFirst ? first : second).push_back(i);
    first.insert(first.end(), second.begin(), second.end());
    return first;
}

}  // namespace

class RoadTest : public QObject {
    Q_OBJECT
private slots:
    void imputationSolvesTheNeighbourEquations() {
        FloatTensor image({1, 20, 17});
        std::mt19937 rng(5);
        for (float& v : image.data) v = float(rng() % 1000) / 1000.0f;
        std::vector<bool> removed(20 * 17, false);
        for (std::int64_t y = 3; y < 15; ++y)  // a block, a border strip and scattered pixels
            for (std::int64_t x = 2; x < 9; ++x) removed[std::size_t(y * 17 + x)] = true;
        for (std::int64_t x = 0; x < 17; ++x) removed[std::size_t(19 * 17 + x)] = true;
        for (int k = 0; k < 30; ++k) removed[rng() % removed.size()] = true;
        RoadOptions o;
        o.noise = 0;
        const FloatTensor out = noisyLinearImputation(image, removed, o);
        const auto reference = sorImpute(image.data.data(), 20, 17, removed);
        double largest = 0;
        for (std::size_t i = 0; i < out.data.size(); ++i) {
            if (!removed[i]) QCOMPARE(out.data[i], image.data[i]);  // kept pixels untouched
            largest = std::max(largest, std::abs(out.data[i] - reference[i]));
        }
        QVERIFY2(largest < 1e-5, qPrintable(QString::number(largest)));
        // The noise: only on removed pixels, of about the asked spread, and seeded.
        o.noise = 0.05;
        const FloatTensor noisy = noisyLinearImputation(image, removed, o);
        double sq = 0;
        int n = 0;
        for (std::size_t i = 0; i < out.data.size(); ++i)
            if (removed[i]) sq += std::pow(noisy.data[i] - out.data[i], 2), ++n;
        QVERIFY(std::abs(std::sqrt(sq / n) - 0.05) < 0.012);
        QCOMPARE(noisyLinearImputation(image, removed, o).data, noisy.data);
    }

    void regionMapBeatsRandomAndInverse() {
        FaithfulnessOptions o;
        o.removal = Removal::Road;
        o.steps = 16;
        o.roadNoise = 0;  // the exact curves first
        const FloatTensor image = toyImage();
        const auto region = measureFaithfulness(image, mapOf(1, 0), regionMean, o, 5);
        const auto inverse = measureFaithfulness(image, mapOf(0, 1), regionMean, o);
        const double cases[][2] = {
            {region.deletion.auc, expectedRoadAuc(regionOrder(true), true, 16)},
            {region.insertion.auc, expectedRoadAuc(regionOrder(true), false, 16)},
            {inverse.deletion.auc, expectedRoadAuc(regionOrder(false), true, 16)},
            {inverse.insertion.auc, expectedRoadAuc(regionOrder(false), false, 16)}};
        for (const auto& c : cases)
            QVERIFY2(std::abs(c[0] - c[1]) < 1e-5,
                     qPrintable(QString("%1 against %2 computed here").arg(c[0]).arg(c[1])));

        o.roadNoise = 0.01;  // ROAD's default: the order still tells the maps apart
        FloatTensor noise({kH, kW});
        std::mt19937 rng(3);
        for (float& v : noise.data) v = static_cast<float>(rng() % 1000);
        const auto noisyRegion = measureFaithfulness(image, mapOf(1, 0), regionMean, o);
        const auto random = measureFaithfulness(image, noise, regionMean, o);
        const auto noisyInverse = measureFaithfulness(image, mapOf(0, 1), regionMean, o);
        QVERIFY(noisyRegion.deletion.auc < random.deletion.auc - 0.2);
        QVERIFY(random.deletion.auc < noisyInverse.deletion.auc - 0.05);
        QVERIFY(noisyRegion.insertion.auc > random.insertion.auc + 0.1);
        QVERIFY(random.insertion.auc > noisyInverse.insertion.auc + 0.05);
        QVERIFY(std::abs(noisyRegion.deletion.auc - region.deletion.auc) < 0.01);
        QCOMPARE(removalName(removalFromName("road")), std::string("road"));
    }
};

QTEST_APPLESS_MAIN(RoadTest)
#include "road_test.moc"
