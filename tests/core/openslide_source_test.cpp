// OpenSlideSource against libvips' decoding of the same slides (tests/fixtures/make_slides.sh):
// every reference region, by file name, must match readRegion per channel; plus the Aperio
// metadata, the label image, reads beyond the edge, bad arguments and concurrent reads.
#include "fixtures/Fixtures.h"

#include "image/ImageError.h"
#include "image/ImageSource.h"

#include <QDir>
#include <QImage>
#include <QRegularExpression>

#include <algorithm>
#include <atomic>
#include <thread>

using namespace lucida;

namespace {

constexpr int kTolerance = 2;  // both decode the same JPEG tiles; IDCTs may differ by a unit or two

std::string slidePath(const QString& slide) {
    return fixtures::path(
        ("slides/" + slide + (slide == "aperio" ? ".svs" : ".tif")).toStdString());
}

QImage loadRef(const QString& file) {
    QImage ref(file);
    return ref.isNull() ? ref : ref.convertToFormat(QImage::Format_RGBA8888);
}

using fixtures::maxDifference;

bool allZero(const PixelBuffer& px, int x0, int y0, int x1, int y1) {
    for (int y = y0; y < y1; ++y)
        for (int x = x0; x < x1; ++x)
            for (int c = 0; c < 4; ++c)
                if (px.rgbaAt(x, y)[c] != 0) return false;
    return true;
}

}  // namespace

class OpenSlideSourceTest : public QObject {
    Q_OBJECT

private slots:
    void regionsMatchLibvips_data() {
        QTest::addColumn<QString>("slide");
        QTest::addColumn<int>("level");
        QTest::addColumn<int>("x");
        QTest::addColumn<int>("y");
        QTest::addColumn<int>("w");
        QTest::addColumn<int>("h");
        QTest::addColumn<QString>("ref");
        const QDir refs(QString::fromStdString(fixtures::path("slides/refs")));
        const QRegularExpression name(R"(^(\w+?)_L(\d+)_(\d+)_(\d+)_(\d+)_(\d+)\.png$)");
        int rows = 0;
        for (const QString& file : refs.entryList({"*.png"}, QDir::Files, QDir::Name)) {
            const auto m = name.match(file);
            if (!m.hasMatch()) continue;  // the label image
            QTest::newRow(qPrintable(file))
                << m.captured(1) << m.captured(2).toInt() << m.captured(3).toInt()
                << m.captured(4).toInt() << m.captured(5).toInt() << m.captured(6).toInt()
                << refs.filePath(file);
            ++rows;
        }
        // make_slides.sh writes 8 regions for each of the two slides.
        QVERIFY2(
            rows == 16,
            qPrintable(QString("%1 reference regions in %2").arg(rows).arg(refs.absolutePath())));
    }
    void regionsMatchLibvips() {
        QFETCH(QString, slide);
        QFETCH(int, level);
        QFETCH(int, x);
        QFETCH(int, y);
        QFETCH(int, w);
        QFETCH(int, h);
        QFETCH(QString, ref);
        const auto src = openImage(slidePath(slide));
        const QImage expected = loadRef(ref);
        QVERIFY2(!expected.isNull(), qPrintable(ref));
        QCOMPARE(expected.width(), w);
        QCOMPARE(expected.height(), h);
        const PixelBuffer px = src->readRegion(level, {x, y, w, h});
        QCOMPARE(px.width, w);
        QCOMPARE(px.height, h);
        const int diff = maxDifference(px, expected);
        qInfo("%s: max difference %d", qPrintable(QFileInfo(ref).fileName()), diff);
        QVERIFY2(
            diff >= 0 && diff <= kTolerance,
            qPrintable(
                QString("max difference %1 > %2 (1000: not opaque)").arg(diff).arg(kTolerance)));
    }

    void aperioMetadata() {
        const auto src = openImage(slidePath("aperio"));
        const ImageInfo& info = src->info();
        QVERIFY2(info.format.find("aperio") != std::string::npos, info.format.c_str());
        QCOMPARE(info.path, slidePath("aperio"));
        QCOMPARE(info.pixelFormat, PixelFormat::Rgba8);
        QCOMPARE(info.sliceCount, 1);
        QVERIFY(info.objectivePower && info.mppX && info.mppY);
        QCOMPARE(*info.objectivePower, 20.0);
        QCOMPARE(*info.mppX, 0.499);
        QCOMPARE(*info.mppY, 0.499);
        QCOMPARE(info.property("aperio.AppMag").value_or("(none)"), std::string("20"));
        QCOMPARE(info.property("aperio.MPP").value_or("(none)"), std::string("0.499"));
        QCOMPARE(info.property("openslide.vendor").value_or("(none)"), std::string("aperio"));
        QVERIFY(!info.property("no.such.property"));
        // The pyramid as `vipsheader -a` reports it (openslide.level[*]).
        const std::vector<std::tuple<int, int, double>> levels = {{3000, 2000, 1.0},
                                                                  {1500, 1000, 2.0},
                                                                  {750, 500, 4.0},
                                                                  {375, 250, 8.0},
                                                                  {187, 125, 16.021390374331553}};
        QCOMPARE(info.levels.size(), levels.size());
        for (std::size_t i = 0; i < levels.size(); ++i) {
            QCOMPARE(info.levels[i].width, std::get<0>(levels[i]));
            QCOMPARE(info.levels[i].height, std::get<1>(levels[i]));
            QVERIFY2(std::abs(info.levels[i].downsample - std::get<2>(levels[i])) < 1e-9,
                     qPrintable(QString::number(info.levels[i].downsample, 'g', 17)));
        }
        QCOMPARE(info.width(), 3000);
        QCOMPARE(info.height(), 2000);
    }

    void genericTiffMetadata() {
        const auto src = openImage(slidePath("generic"));
        const ImageInfo& info = src->info();
        QVERIFY2(info.format.find("generic-tiff") != std::string::npos, info.format.c_str());
        QCOMPARE(info.levels.size(), std::size_t(5));
        QCOMPARE(info.level(1).width, 1500);
        QCOMPARE(info.level(1).height, 1000);
        QCOMPARE(info.level(4).width, 187);
        QVERIFY(!info.objectivePower);
        QVERIFY(!info.mppX);
        QVERIFY(info.associatedImages.empty());
        QVERIFY_THROWS_EXCEPTION(ImageError, src->readAssociatedImage("label"));
    }

    void aperioLabelMatchesLibvips() {
        const auto src = openImage(slidePath("aperio"));
        const auto& names = src->info().associatedImages;
        QVERIFY(std::find(names.begin(), names.end(), "label") != names.end());
        const PixelBuffer label = src->readAssociatedImage("label");
        QCOMPARE(label.width, 200);
        QCOMPARE(label.height, 120);
        const QImage ref =
            loadRef(QString::fromStdString(fixtures::path("slides/refs/aperio_label.png")));
        QVERIFY(!ref.isNull());
        const int diff = maxDifference(label, ref);
        qInfo("label: max difference %d", diff);
        QVERIFY2(diff >= 0 && diff <= kTolerance, qPrintable(QString::number(diff)));
        try {
            src->readAssociatedImage("no-such-image");
            QFAIL("an unknown associated image was read");
        } catch (const ImageError& e) {
            QCOMPARE(e.path(), slidePath("aperio"));
            QVERIFY2(std::string(e.what()).find("no-such-image") != std::string::npos, e.what());
        }
    }

    void regionBeyondEdgeIsTransparent_data() {
        QTest::addColumn<QString>("slide");
        QTest::newRow("generic") << "generic";
        QTest::newRow("aperio") << "aperio";
    }
    void regionBeyondEdgeIsTransparent() {
        QFETCH(QString, slide);
        const auto src = openImage(slidePath(slide));
        // Bottom-right corner of level 0: 100 x 50 inside, the rest outside.
        const PixelBuffer px = src->readRegion(0, {2900, 1950, 200, 100});
        const PixelBuffer inside = src->readRegion(0, {2900, 1950, 100, 50});
        QCOMPARE(px.width, 200);
        QCOMPARE(px.height, 100);
        for (int y = 0; y < 50; ++y)
            QVERIFY(std::equal(inside.row(y), inside.row(y) + inside.stride(), px.row(y)));
        QVERIFY(allZero(px, 100, 0, 200, 100));
        QVERIFY(allZero(px, 0, 50, 200, 100));
        QCOMPARE(int(px.rgbaAt(99, 49)[3]), 255);
        // Above-left of the origin, on a coarser level.
        const PixelBuffer tl = src->readRegion(1, {-20, -10, 60, 40});
        const PixelBuffer tlInside = src->readRegion(1, {0, 0, 40, 30});
        QVERIFY(allZero(tl, 0, 0, 60, 10));
        QVERIFY(allZero(tl, 0, 0, 20, 40));
        for (int y = 0; y < 30; ++y)
            QVERIFY(std::equal(tlInside.row(y), tlInside.row(y) + tlInside.stride(),
                               tl.row(y + 10) + 4 * 20));
        // Entirely outside.
        const PixelBuffer out = src->readRegion(0, {5000, 5000, 16, 16});
        QVERIFY(allZero(out, 0, 0, 16, 16));
    }

    void badArgumentsThrow() {
        const auto src = openImage(slidePath("aperio"));
        QVERIFY_THROWS_EXCEPTION(ImageError, src->readRegion(5, {0, 0, 8, 8}));
        QVERIFY_THROWS_EXCEPTION(ImageError, src->readRegion(-1, {0, 0, 8, 8}));
        QVERIFY_THROWS_EXCEPTION(ImageError, src->readRegion(0, {0, 0, 8, 8}, 1));
        try {
            src->readRegion(7, {0, 0, 8, 8});
            QFAIL("level 7 was read");
        } catch (const ImageError& e) {
            QCOMPARE(e.path(), slidePath("aperio"));
            QVERIFY2(e.reason().find("7") != std::string::npos, e.what());
        }
        // Nothing sticky came of it: the slide still reads.
        const PixelBuffer px = src->readRegion(0, {0, 0, 8, 8});
        QCOMPARE(int(px.rgbaAt(0, 0)[3]), 255);
        QVERIFY(src->readRegion(0, {0, 0, 0, 0}).empty());
    }

    void concurrentReadsMatchSerial() {
        const auto src = openImage(slidePath("aperio"));
        struct Job {
            int level;
            Rect rect;
        };
        std::vector<Job> jobs;
        for (int level = 0; level < 4; ++level)
            for (int i = 0; i < 6; ++i) jobs.push_back({level, {i * 97, i * 61, 256, 200}});
        std::vector<PixelBuffer> serial;
        for (const Job& j : jobs) serial.push_back(src->readRegion(j.level, j.rect));
        std::atomic<int> mismatches{0}, errors{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t)
            threads.emplace_back([&, t] {
                for (int round = 0; round < 3; ++round)
                    for (std::size_t i = 0; i < jobs.size(); ++i) {
                        const std::size_t k = (i + std::size_t(t) * 5) % jobs.size();
                        try {
                            if (src->readRegion(jobs[k].level, jobs[k].rect).bytes !=
                                serial[k].bytes)
                                ++mismatches;
                        } catch (...) {
                            ++errors;
                        }
                    }
            });
        for (auto& th : threads) th.join();
        QCOMPARE(errors.load(), 0);
        QCOMPARE(mismatches.load(), 0);
    }
};

QTEST_APPLESS_MAIN(OpenSlideSourceTest)
#include "openslide_source_test.moc"
