// Map similarity (Spearman, SSIM) against tests/reference/map_similarity_reference.py (scipy's
// spearmanr, a numpy SSIM), and the pointing games on hand-made maps and masks.
#include "checks/Localisation.h"
#include "checks/MapSimilarity.h"

#include <QtTest>

#include <cmath>

using namespace lucida;

namespace {

// The closed-form maps of map_similarity_reference.py (float64, then float32 as there).
std::pair<FloatTensor, FloatTensor> referenceMaps() {
    const std::int64_t h = 12, w = 10;
    FloatTensor a({h, w}), b({h, w});
    for (std::int64_t i = 0; i < h; ++i)
        for (std::int64_t j = 0; j < w; ++j) {
            const double di = static_cast<double>(i), dj = static_cast<double>(j);
            a.data[static_cast<std::size_t>(i * w + j)] =
                static_cast<float>(std::sin(0.7 * di) + std::cos(0.3 * di * dj) + 0.05 * dj);
            b.data[static_cast<std::size_t>(i * w + j)] =
                static_cast<float>(std::sin(0.7 * di + 0.4) + 0.5 * std::cos(0.2 * dj) +
                                   std::nearbyint(0.1 * di * dj) * 0.3);
        }
    return {a, b};
}

}  // namespace

class MapChecksTest : public QObject {
    Q_OBJECT
private slots:
    void similarityMatchesScipyAndNumpy() {
        const auto [a, b] = referenceMaps();
        QVERIFY(std::abs(spearmanCorrelation(a, b) - 0.402125147580) < 1e-6);
        QVERIFY(std::abs(structuralSimilarity(a, b) - 0.423537267839) < 1e-6);
        QVERIFY(std::abs(spearmanCorrelation(a, a) - 1.0) < 1e-12);
        QVERIFY(std::abs(structuralSimilarity(b, b) - 1.0) < 1e-12);
        FloatTensor negated = a;
        for (float& v : negated.data) v = -v;
        QVERIFY(std::abs(spearmanCorrelation(a, negated) + 1.0) < 1e-12);
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                                 spearmanCorrelation(a, FloatTensor({12, 9})));
    }

    void pointingGames() {
        FloatTensor map({20, 30});
        map.data[5 * 30 + 25] = 2.0f;  // the peak at (y 5, x 25)
        map.data[15 * 30 + 3] = 1.0f;
        std::vector<bool> mask(600, false);
        for (int y = 12; y < 18; ++y)
            for (int x = 0; x < 6; ++x) mask[static_cast<std::size_t>(y * 30 + x)] = true;
        QVERIFY(!pointingHit(map, mask, 15));  // nearest mask pixel (12, 5): √(49 + 400) ≈ 21.2
        QVERIFY(pointingHit(map, mask, 21.3));
        QVERIFY(std::abs(energyInMask(map, mask) - 1.0 / 3.0) < 1e-12);
        mask[5 * 30 + 25] = true;
        QVERIFY(pointingHit(map, mask, 0));
        QVERIFY(std::abs(energyInMask(map, mask) - 1.0) < 1e-12);
        QVERIFY(!pointingHit(FloatTensor({20, 30}), mask));  // an empty map points nowhere
        QCOMPARE(energyInMask(FloatTensor({20, 30}), mask), 0.0);
    }
};

QTEST_APPLESS_MAIN(MapChecksTest)
#include "map_checks_test.moc"
