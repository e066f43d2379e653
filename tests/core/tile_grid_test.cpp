// ViewGeometry (screen <-> image mapping under zoom, pan and rotation), the scale bar's round
// length, the best-level rule and planTiles: the planned tiles are checked against a brute-force
// scan over every tile of the level.
#include <QtTest>

#include "tiles/TileGrid.h"
#include "tiles/ViewGeometry.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <tuple>

using namespace lucida;

namespace {

constexpr double kEps = 1e-9;

bool near(PointF a, PointF b, double eps = 1e-6) {
    return std::abs(a.x - b.x) < eps && std::abs(a.y - b.y) < eps;
}

QString str(PointF p) { return QString("(%1, %2)").arg(p.x, 0, 'g', 12).arg(p.y, 0, 'g', 12); }

ViewGeometry view(double cx, double cy, double scale, int turns, int w, int h) {
    ViewGeometry v;
    v.centreX = cx;
    v.centreY = cy;
    v.scale = scale;
    v.quarterTurns = turns;
    v.viewWidth = w;
    v.viewHeight = h;
    return v;
}

// A 3000 x 2000 slide with the usual halving pyramid.
ImageInfo slideInfo() {
    ImageInfo info;
    info.levels = {{3000, 2000, 1.0}, {1500, 1000, 2.0}, {750, 500, 4.0}, {375, 250, 8.0}};
    return info;
}

using Cell = std::tuple<int, std::int64_t, std::int64_t>;  // level, col, row

// Every tile of `level` whose area overlaps `r` (level pixels) by a positive amount.
std::set<Cell> bruteForceTiles(const ImageInfo& info, int level, const RectF& r, int ts) {
    std::set<Cell> out;
    const Level& lv = info.level(level);
    for (std::int64_t row = 0; row * ts < lv.height; ++row)
        for (std::int64_t col = 0; col * ts < lv.width; ++col) {
            const double x0 = double(col * ts), y0 = double(row * ts);
            const double x1 = std::min<double>(x0 + ts, double(lv.width));
            const double y1 = std::min<double>(y0 + ts, double(lv.height));
            if (x0 < r.x + r.width && x1 > r.x && y0 < r.y + r.height && y1 > r.y)
                out.insert({level, col, row});
        }
    return out;
}

std::set<Cell> cells(const std::vector<TileKey>& keys) {
    std::set<Cell> out;
    for (const TileKey& k : keys) out.insert({k.level, k.col, k.row});
    return out;
}

QString describe(const std::set<Cell>& s) {
    QStringList parts;
    for (const auto& [l, c, r] : s) parts << QString("L%1(%2,%3)").arg(l).arg(c).arg(r);
    return parts.join(' ');
}

}  // namespace

class TileGridTest : public QObject {
    Q_OBJECT

private slots:
    void roundTripAllRotations_data() {
        QTest::addColumn<int>("turns");
        for (int q = 0; q < 4; ++q) QTest::newRow(qPrintable(QString("q%1").arg(q))) << q;
    }
    void roundTripAllRotations() {
        QFETCH(int, turns);
        const ViewGeometry v = view(1234.5, 678.25, 0.37, turns, 800, 600);
        QVERIFY(near(v.toScreen({1234.5, 678.25}), {400, 300}));  // the centre is the centre
        for (PointF p :
             {PointF{0, 0}, PointF{3000, 2000}, PointF{-50.5, 999.75}, PointF{1500, 3}}) {
            const PointF back = v.toImage(v.toScreen(p));
            QVERIFY2(near(back, p), qPrintable(str(p) + " -> " + str(back)));
        }
        for (PointF s : {PointF{0, 0}, PointF{800, 600}, PointF{13, 577}}) {
            const PointF back = v.toScreen(v.toImage(s));
            QVERIFY2(near(back, s), qPrintable(str(s) + " -> " + str(back)));
        }
        // Distances scale by `scale` whatever the rotation.
        const PointF a = v.toScreen({0, 0}), b = v.toScreen({100, 0});
        QVERIFY(std::abs(std::hypot(b.x - a.x, b.y - a.y) - 37.0) < 1e-9);
    }

    void rotationIsClockwise() {
        // One quarter turn clockwise: what lies right of the centre in the image appears below it.
        const ViewGeometry v = view(500, 500, 1.0, 1, 400, 400);
        QVERIFY(near(v.toScreen({600, 500}), {200, 300}));
        QVERIFY(near(v.toScreen({500, 600}), {100, 200}));  // below goes left
        ViewGeometry r = view(500, 500, 1.0, 3, 400, 400);
        r.rotateClockwise();
        QCOMPARE(r.quarterTurns, 0);
    }

    void zoomAtKeepsAnchor_data() {
        QTest::addColumn<int>("turns");
        QTest::addColumn<double>("factor");
        for (int q = 0; q < 4; ++q) {
            QTest::newRow(qPrintable(QString("q%1 in").arg(q))) << q << 2.5;
            QTest::newRow(qPrintable(QString("q%1 out").arg(q))) << q << 0.3;
        }
    }
    void zoomAtKeepsAnchor() {
        QFETCH(int, turns);
        QFETCH(double, factor);
        ViewGeometry v = view(1500, 1000, 0.25, turns, 900, 700);
        const PointF anchor{123, 611};
        const PointF before = v.toImage(anchor);
        v.zoomAt(anchor, factor);
        QVERIFY(std::abs(v.scale - 0.25 * factor) < kEps);
        const PointF after = v.toImage(anchor);
        QVERIFY2(near(before, after), qPrintable(str(before) + " became " + str(after)));
        QVERIFY(near(v.toScreen(before), anchor));
        // Zooming at the centre does not move the centre.
        ViewGeometry c = view(1500, 1000, 0.25, turns, 900, 700);
        c.zoomAt({450, 350}, factor);
        QVERIFY(std::abs(c.centreX - 1500) < 1e-9 && std::abs(c.centreY - 1000) < 1e-9);
    }

    void panFollowsMouse_data() {
        QTest::addColumn<int>("turns");
        for (int q = 0; q < 4; ++q) QTest::newRow(qPrintable(QString("q%1").arg(q))) << q;
    }
    void panFollowsMouse() {
        QFETCH(int, turns);
        ViewGeometry v = view(1000, 800, 0.5, turns, 640, 480);
        const PointF grabbed = v.toImage({200, 100});
        v.panByScreen(30, -12);
        // The image point under the mouse moved with it…
        QVERIFY2(near(v.toScreen(grabbed), {230, 88}), qPrintable(str(v.toScreen(grabbed))));
        // …so the centre moved by the drag divided by the scale.
        QVERIFY(std::abs(std::hypot(v.centreX - 1000, v.centreY - 800) - std::hypot(30, 12) / 0.5) <
                1e-9);
        if (turns == 0) {
            QVERIFY(std::abs(v.centreX - (1000 - 30 / 0.5)) < kEps);
            QVERIFY(std::abs(v.centreY - (800 + 12 / 0.5)) < kEps);
        }
    }

    void fitCentresAndFits_data() {
        QTest::addColumn<int>("turns");
        QTest::addColumn<double>("w");
        QTest::addColumn<double>("h");
        QTest::addColumn<double>("scale");
        // 800 x 600 view.
        QTest::newRow("wide q0") << 0 << 3000.0 << 2000.0 << 800.0 / 3000;
        QTest::newRow("wide q1") << 1 << 3000.0 << 2000.0 << 600.0 / 3000;
        QTest::newRow("wide q2") << 2 << 3000.0 << 2000.0 << 800.0 / 3000;
        QTest::newRow("tall q0") << 0 << 1000.0 << 4000.0 << 600.0 / 4000;
        QTest::newRow("tall q3") << 3 << 1000.0 << 4000.0 << 800.0 / 4000;
        QTest::newRow("small") << 0 << 100.0 << 50.0 << 8.0;
    }
    void fitCentresAndFits() {
        QFETCH(int, turns);
        QFETCH(double, w);
        QFETCH(double, h);
        QFETCH(double, scale);
        ViewGeometry v = view(-5, 7, 3.0, turns, 800, 600);
        v.fit(w, h);
        QVERIFY2(std::abs(v.scale - scale) < 1e-12, qPrintable(QString::number(v.scale)));
        QVERIFY(near(v.toScreen({w / 2, h / 2}), {400, 300}));
        // All four corners are on screen and the image touches two opposite view edges.
        double x0 = 1e9, x1 = -1e9, y0 = 1e9, y1 = -1e9;
        for (PointF c : {PointF{0, 0}, PointF{w, 0}, PointF{0, h}, PointF{w, h}}) {
            const PointF s = v.toScreen(c);
            x0 = std::min(x0, s.x), x1 = std::max(x1, s.x);
            y0 = std::min(y0, s.y), y1 = std::max(y1, s.y);
        }
        QVERIFY(x0 > -1e-6 && x1 < 800 + 1e-6 && y0 > -1e-6 && y1 < 600 + 1e-6);
        QVERIFY(std::abs(x1 - x0 - 800) < 1e-6 || std::abs(y1 - y0 - 600) < 1e-6);
        QVERIFY(std::abs((x0 + x1) / 2 - 400) < 1e-6 && std::abs((y0 + y1) / 2 - 300) < 1e-6);
    }

    void clampCentreKeepsImageInView() {
        ViewGeometry v = view(-400, 5000, 1.0, 0, 100, 100);
        v.clampCentre(3000, 2000);
        QCOMPARE(v.centreX, 0.0);
        QCOMPARE(v.centreY, 2000.0);
        v.centreX = 1200;
        v.centreY = 900;
        v.clampCentre(3000, 2000);
        QCOMPARE(v.centreX, 1200.0);
        QCOMPARE(v.centreY, 900.0);
    }

    void visibleRectSwapsWhenSideways() {
        const RectF r0 = view(1000, 1000, 0.5, 0, 800, 600).visibleImageRect();
        QVERIFY(std::abs(r0.x - 200) < kEps && std::abs(r0.y - 400) < kEps);
        QVERIFY(std::abs(r0.width - 1600) < kEps && std::abs(r0.height - 1200) < kEps);
        for (int q : {1, 3}) {
            const RectF r = view(1000, 1000, 0.5, q, 800, 600).visibleImageRect();
            QVERIFY2(std::abs(r.width - 1200) < kEps && std::abs(r.height - 1600) < kEps,
                     qPrintable(QString("%1 x %2").arg(r.width).arg(r.height)));
            QVERIFY(std::abs(r.x - 400) < kEps && std::abs(r.y - 200) < kEps);  // still centred
        }
        const RectF r2 = view(1000, 1000, 0.5, 2, 800, 600).visibleImageRect();
        QVERIFY(std::abs(r2.width - 1600) < kEps && std::abs(r2.height - 1200) < kEps);
    }

    void niceScaleLengthExamples() {
        QCOMPARE(niceScaleLength(0.5, 200), 100.0);
        QCOMPARE(niceScaleLength(0.37, 150), 50.0);
        QCOMPARE(niceScaleLength(0.25, 150), 20.0);
        QCOMPARE(niceScaleLength(0.001, 120), 0.1);
        QCOMPARE(niceScaleLength(0.0, 100), 0.0);
        QCOMPARE(niceScaleLength(-1.0, 100), 0.0);
        QCOMPARE(niceScaleLength(1.0, 0), 0.0);
    }

    void niceScaleLengthIsLargestRoundLength() {
        for (double upp = 0.0013; upp < 500; upp *= 1.37)
            for (double px : {37.0, 100.0, 150.0, 200.0, 333.0}) {
                const double len = niceScaleLength(upp, px);
                const QString what = QString("upp %1 px %2 -> %3").arg(upp).arg(px).arg(len);
                QVERIFY2(len > 0 && len <= upp * px * (1 + 1e-12), qPrintable(what));
                const double power = std::pow(10.0, std::floor(std::log10(len) + 1e-9));
                const double m = len / power;
                QVERIFY2(std::abs(m - 1) < 1e-9 || std::abs(m - 2) < 1e-9 || std::abs(m - 5) < 1e-9,
                         qPrintable(what));
                // The next round length up would be too long.
                const double next = std::abs(m - 1) < 1e-9   ? 2 * power
                                    : std::abs(m - 2) < 1e-9 ? 5 * power
                                                             : 10 * power;
                QVERIFY2(next > upp * px, qPrintable(what));
            }
    }

    void bestLevel() {
        std::vector<Level> levels = {{4096, 4096, 1.0}, {1024, 1024, 4.0}, {256, 256, 16.0}};
        QCOMPARE(bestLevelForDownsample(levels, 0.25), 0);
        QCOMPARE(bestLevelForDownsample(levels, 1.0), 0);
        QCOMPARE(bestLevelForDownsample(levels, 3.9), 0);
        QCOMPARE(bestLevelForDownsample(levels, 3.9999), 1);  // within the tolerance
        QCOMPARE(bestLevelForDownsample(levels, 4.0), 1);
        QCOMPARE(bestLevelForDownsample(levels, 15.9), 1);
        QCOMPARE(bestLevelForDownsample(levels, 16.0), 2);
        QCOMPARE(bestLevelForDownsample(levels, 1000.0), 2);
        // Downsamples as OpenSlide computes them from rounded level sizes.
        levels[1].downsample = 3.99987;
        levels[2].downsample = 16.021390374331553;
        QCOMPARE(bestLevelForDownsample(levels, 4.0), 1);
        QCOMPARE(bestLevelForDownsample(levels, 16.0), 1);  // 16.02 is coarser than the screen
        QCOMPARE(bestLevelForDownsample(levels, 16.03), 2);
        QCOMPARE(bestLevelForDownsample({{100, 100, 1.0}}, 50.0), 0);
    }

    void planTilesMatchesBruteForce_data() {
        QTest::addColumn<double>("cx");
        QTest::addColumn<double>("cy");
        QTest::addColumn<double>("scale");
        QTest::addColumn<int>("turns");
        QTest::addColumn<int>("w");
        QTest::addColumn<int>("h");
        QTest::addColumn<int>("level");
        QTest::newRow("level 0 inside") << 1500.0 << 1000.0 << 1.0 << 0 << 800 << 600 << 0;
        QTest::newRow("level 0 zoomed in") << 777.7 << 333.3 << 3.0 << 0 << 1024 << 700 << 0;
        QTest::newRow("level 0 corner") << 10.0 << 5.0 << 1.5 << 0 << 640 << 480 << 0;
        QTest::newRow("level 1") << 1500.0 << 1000.0 << 0.5 << 0 << 800 << 600 << 1;
        QTest::newRow("level 1 rotated") << 2900.0 << 1900.0 << 0.4 << 1 << 800 << 600 << 1;
        QTest::newRow("level 2 bottom right") << 2990.0 << 1990.0 << 0.25 << 0 << 900 << 500 << 2;
        QTest::newRow("whole image") << 1500.0 << 1000.0 << 0.1 << 0 << 1200 << 900 << 3;
        QTest::newRow("q3") << 1200.0 << 600.0 << 0.7 << 3 << 500 << 900 << 0;
        // View edges exactly on tile seams: a tile touched only along its edge is not visible.
        QTest::newRow("seams") << 1024.0 << 768.0 << 1.0 << 0 << 512 << 512 << 0;
        QTest::newRow("seams level 1") << 1024.0 << 1024.0 << 0.5 << 0 << 256 << 512 << 1;
        QTest::newRow("outside") << 5000.0 << -3000.0 << 1.0 << 0 << 800 << 600 << 0;
    }
    void planTilesMatchesBruteForce() {
        QFETCH(double, cx);
        QFETCH(double, cy);
        QFETCH(double, scale);
        QFETCH(int, turns);
        QFETCH(int, w);
        QFETCH(int, h);
        QFETCH(int, level);
        const ImageInfo info = slideInfo();
        const ViewGeometry v = view(cx, cy, scale, turns, w, h);
        constexpr int ts = 256;
        const TilePlan plan = planTiles(info, 42, 3, v, ts, 1);
        QCOMPARE(plan.level, level);
        QCOMPARE(plan.level, bestLevelForDownsample(info.levels, 1.0 / scale));

        const double ds = info.level(level).downsample;
        const RectF vis = v.visibleImageRect();
        const RectF r{vis.x / ds, vis.y / ds, vis.width / ds, vis.height / ds};
        const std::set<Cell> expected = bruteForceTiles(info, level, r, ts);
        const std::set<Cell> got = cells(plan.visible);
        QCOMPARE(got.size(), plan.visible.size());  // no duplicates
        QVERIFY2(got == expected,
                 qPrintable("got " + describe(got) + "\nexpected " + describe(expected)));
        for (const TileKey& k : plan.visible) {
            QCOMPARE(k.sourceId, std::uint64_t(42));
            QCOMPARE(k.slice, 3);
            QCOMPARE(k.tileSize, ts);
            QCOMPARE(k.level, level);
        }

        // Nearest the view's centre first.
        auto distance = [&](const TileKey& k) {
            const double dx = (k.col + 0.5) * ts - cx / ds, dy = (k.row + 0.5) * ts - cy / ds;
            return std::hypot(dx, dy);
        };
        for (std::size_t i = 1; i < plan.visible.size(); ++i)
            QVERIFY(distance(plan.visible[i - 1]) <= distance(plan.visible[i]) + 1e-9);
        for (std::size_t i = 1; i < plan.prefetch.size(); ++i)
            QVERIFY(distance(plan.prefetch[i - 1]) <= distance(plan.prefetch[i]) + 1e-9);

        // The prefetch ring: tiles within one tile of the view, not visible, inside the level.
        const RectF grown{r.x - ts, r.y - ts, r.width + 2.0 * ts, r.height + 2.0 * ts};
        std::set<Cell> ring = bruteForceTiles(info, level, grown, ts);
        for (const Cell& c : expected) ring.erase(c);
        const std::set<Cell> prefetch = cells(plan.prefetch);
        QCOMPARE(prefetch.size(), plan.prefetch.size());
        QVERIFY2(prefetch == ring,
                 qPrintable("got " + describe(prefetch) + "\nexpected " + describe(ring)));
        const Level& lv = info.level(level);
        for (const TileKey& k : plan.prefetch) {
            QVERIFY(k.col >= 0 && k.row >= 0 && k.col * ts < lv.width && k.row * ts < lv.height);
            QVERIFY(!expected.count({k.level, k.col, k.row}));
        }
        if (QString(QTest::currentDataTag()) == "outside")
            QVERIFY(plan.visible.empty());
        else
            QVERIFY(!plan.visible.empty());
    }

    void planWithoutPrefetch() {
        const TilePlan plan =
            planTiles(slideInfo(), 1, 0, view(1500, 1000, 1.0, 0, 800, 600), 512, 0);
        QVERIFY(plan.prefetch.empty());
        // 1100..1900 x 700..1300 in 512-px tiles: columns 2..3, rows 1..2.
        QCOMPARE(cells(plan.visible), (std::set<Cell>{{0, 2, 1}, {0, 3, 1}, {0, 2, 2}, {0, 3, 2}}));
    }

    void tilesInRectClipsToLevel() {
        const ImageInfo info = slideInfo();
        // Level 3 is 375 x 250: two columns, one row of 256-px tiles.
        const auto keys = tilesInRect(info, 9, 0, 3, {-1000, -1000, 5000, 5000}, 256);
        QCOMPARE(cells(keys), (std::set<Cell>{{3, 0, 0}, {3, 1, 0}}));
        QVERIFY(tilesInRect(info, 9, 0, 3, {400, 0, 100, 100}, 256).empty());
        QVERIFY(tilesInRect(info, 9, 0, 0, {-300, -300, 200, 200}, 256).empty());
    }
};

QTEST_APPLESS_MAIN(TileGridTest)
#include "tile_grid_test.moc"
