// RasterImageSource against Pillow's decoding of the same files
// (tests/fixtures/make_raster_refs.py): PNG, BMP, JPEG and 16-bit TIFF pixels, the windows of a
// Gray16 image, the pyramid built for a large photo, and 8-bit greyscale becoming RGBA.
#include "fixtures/Fixtures.h"

#include "image/ImageError.h"
#include "image/ImageSource.h"

#include <QImage>
#include <QTemporaryDir>

#include <algorithm>
#include <cmath>

using namespace lucida;

namespace {

std::string raster(const std::string& name) { return fixtures::path("raster/" + name); }

QImage loadRef(const std::string& name, QImage::Format format) {
    QImage ref(QString::fromStdString(raster("refs/" + name)));
    return ref.isNull() ? ref : ref.convertToFormat(format);
}

using fixtures::maxDifference;

}  // namespace

class RasterSourceTest : public QObject {
    Q_OBJECT

private slots:
    void pixelsMatchPillow_data() {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QString>("format");
        QTest::addColumn<int>("tolerance");
        QTest::newRow("PNG") << "ihc.png"
                             << "PNG" << 0;
        QTest::newRow("BMP") << "ihc.bmp"
                             << "BMP" << 0;
        QTest::newRow("JPEG") << "ihc.jpg"
                              << "JPEG" << 2;
    }
    void pixelsMatchPillow() {
        QFETCH(QString, file);
        QFETCH(QString, format);
        QFETCH(int, tolerance);
        const std::string path = raster(file.toStdString());
        const auto src = openImage(path);
        const ImageInfo& info = src->info();
        QCOMPARE(info.path, path);
        QCOMPARE(info.format, format.toStdString());
        QCOMPARE(info.pixelFormat, PixelFormat::Rgba8);
        QCOMPARE(info.width(), 512);
        QCOMPARE(info.height(), 512);
        QCOMPARE(info.levels.size(), std::size_t(1));  // small: no pyramid
        QVERIFY(info.windows.empty());
        const QImage ref = loadRef(file.toStdString() + ".png", QImage::Format_RGBA8888);
        QVERIFY(!ref.isNull());
        const int diff = maxDifference(src->readRegion(0, {0, 0, 512, 512}), ref);
        qInfo("%s: max difference %d", qPrintable(file), diff);
        QVERIFY2(diff >= 0 && diff <= tolerance,
                 qPrintable(QString("max difference %1 > %2").arg(diff).arg(tolerance)));
        // A region is the same pixels as the whole image.
        const PixelBuffer part = src->readRegion(0, {100, 200, 50, 40});
        const int partDiff = maxDifference(part, ref.copy(100, 200, 50, 40));
        QVERIFY2(partDiff >= 0 && partDiff <= tolerance, qPrintable(QString::number(partDiff)));
    }

    void gray16KeepsItsValues() {
        const auto src = openImage(raster("grey16.tif"));
        const ImageInfo& info = src->info();
        QCOMPARE(info.format, std::string("TIFF"));
        QCOMPARE(info.pixelFormat, PixelFormat::Gray16);
        QCOMPARE(info.grayMapping.slope, 1.0);
        QCOMPARE(info.grayMapping.intercept, 0.0);
        const QImage ref = loadRef("grey16.tif.png", QImage::Format_Grayscale16);
        QVERIFY(!ref.isNull());
        QCOMPARE(ref.width(), int(info.width()));
        QCOMPARE(ref.height(), int(info.height()));
        const PixelBuffer px = src->readRegion(0, {0, 0, info.width(), info.height()});
        QCOMPARE(px.format, PixelFormat::Gray16);
        int lo = 65535, hi = 0, mismatches = 0;
        for (int y = 0; y < ref.height(); ++y) {
            const auto* r = reinterpret_cast<const std::uint16_t*>(ref.constScanLine(y));
            for (int x = 0; x < ref.width(); ++x) {
                lo = std::min<int>(lo, r[x]);
                hi = std::max<int>(hi, r[x]);
                if (px.grayAt(x, y) != r[x] && mismatches++ < 5)
                    qWarning("(%d, %d): %d, Pillow %d", x, y, px.grayAt(x, y), r[x]);
            }
        }
        QCOMPARE(mismatches, 0);
        // The fixture spans most of the 16-bit range (0.9 * grey16 + 1000): not a constant image.
        QVERIFY2(hi - lo > 10000, qPrintable(QString("values %1..%2").arg(lo).arg(hi)));

        QVERIFY(!info.windows.empty());
        const Window& autoWindow = info.windows.front();
        QCOMPARE(autoWindow.name, std::string("Auto (min–max)"));
        QCOMPARE(autoWindow.centre, (lo + hi) / 2.0);
        QCOMPARE(autoWindow.width, double(hi - lo));
        const auto full = std::find_if(info.windows.begin(), info.windows.end(),
                                       [](const Window& w) { return w.name == "Full range"; });
        QVERIFY(full != info.windows.end());
        QCOMPARE(full->centre - full->width / 2, 0.0);
        QCOMPARE(full->centre + full->width / 2, 65535.0);
        QCOMPARE(src->windowsForSlice(0).size(), info.windows.size());
    }

    void largePhotoHasPyramid() {
        const auto src = openImage(raster("photo_8000x6000.jpg"));
        const ImageInfo& info = src->info();
        QCOMPARE(info.format, std::string("JPEG"));
        QVERIFY(info.levels.size() >= 2);
        QCOMPARE(info.level(0).width, 8000);
        QCOMPARE(info.level(0).height, 6000);
        QCOMPARE(info.level(0).downsample, 1.0);
        for (std::size_t i = 1; i < info.levels.size(); ++i) {
            const Level& prev = info.levels[i - 1];
            const Level& lv = info.levels[i];
            QCOMPARE(lv.width, (prev.width + 1) / 2);
            QCOMPARE(lv.height, (prev.height + 1) / 2);
            QVERIFY(std::abs(lv.downsample - 8000.0 / double(lv.width)) < 1e-9);
            QVERIFY2(std::max(prev.width, prev.height) > 1024, "a level too many");
        }
        QVERIFY(std::max(info.levels.back().width, info.levels.back().height) <= 1024);
        QCOMPARE(info.levels.size(), std::size_t(4));  // 8000, 4000, 2000, 1000
        // Every level reads, edges included.
        for (int l = 0; l < int(info.levels.size()); ++l) {
            const Level& lv = info.level(l);
            const PixelBuffer px = src->readRegion(l, {lv.width - 10, lv.height - 10, 20, 20});
            QCOMPARE(int(px.rgbaAt(9, 9)[3]), 255);
            QCOMPARE(int(px.rgbaAt(10, 10)[3]), 0);
        }
    }

    void largePhotoCropsMatchPillow_data() {
        QTest::addColumn<int>("x");
        QTest::addColumn<int>("y");
        QTest::newRow("top left") << 0 << 0;
        QTest::newRow("middle") << 4000 << 3000;
        QTest::newRow("bottom right") << 7744 << 5744;
    }
    void largePhotoCropsMatchPillow() {
        QFETCH(int, x);
        QFETCH(int, y);
        static const auto src = openImage(raster("photo_8000x6000.jpg"));
        const QImage ref =
            loadRef(QString("photo_8000x6000.jpg_%1_%2.png").arg(x).arg(y).toStdString(),
                    QImage::Format_RGBA8888);
        QVERIFY(!ref.isNull());
        const int diff = maxDifference(src->readRegion(0, {x, y, 256, 256}), ref);
        qInfo("crop %d,%d: max difference %d", x, y, diff);
        QVERIFY2(diff >= 0 && diff <= 2, qPrintable(QString::number(diff)));
    }

    void coarserLevelsAverageFinerOnes() {
        const auto src = openImage(raster("photo_8000x6000.jpg"));
        const int levels = int(src->info().levels.size());
        for (int l = 1; l < levels; ++l) {
            // A block in the middle of the level, and the 2x-larger block of the finer level.
            const Level& lv = src->info().level(l);
            const Rect coarse{lv.width / 2 - 32, lv.height / 2 - 24, 64, 48};
            const PixelBuffer c = src->readRegion(l, coarse);
            const PixelBuffer f = src->readRegion(
                l - 1, {coarse.x * 2, coarse.y * 2, coarse.width * 2, coarse.height * 2});
            int worst = 0;
            for (int y = 0; y < c.height; ++y)
                for (int x = 0; x < c.width; ++x)
                    for (int ch = 0; ch < 3; ++ch) {
                        const int sum =
                            f.rgbaAt(2 * x, 2 * y)[ch] + f.rgbaAt(2 * x + 1, 2 * y)[ch] +
                            f.rgbaAt(2 * x, 2 * y + 1)[ch] + f.rgbaAt(2 * x + 1, 2 * y + 1)[ch];
                        worst = std::max(worst, std::abs(int(c.rgbaAt(x, y)[ch]) * 4 - sum));
                    }
            qInfo("level %d: max difference from the 2x2 mean %.2f", l, worst / 4.0);
            QVERIFY2(worst <= 4 * 2, qPrintable(QString("level %1: %2").arg(l).arg(worst / 4.0)));
        }
    }

    void grey8BecomesRgba() {
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        QImage grey(37, 23, QImage::Format_Grayscale8);
        for (int y = 0; y < grey.height(); ++y)
            for (int x = 0; x < grey.width(); ++x)
                grey.scanLine(y)[x] = uchar((x * 7 + y * 11) % 256);
        const QString file = tmp.filePath("grey8.png");
        QVERIFY(grey.save(file, "PNG"));
        const auto src = openImage(file.toStdString());
        QCOMPARE(src->info().pixelFormat, PixelFormat::Rgba8);
        QCOMPARE(src->info().format, std::string("PNG"));
        QVERIFY(src->info().windows.empty());
        const PixelBuffer px = src->readRegion(0, {0, 0, 37, 23});
        for (int y = 0; y < 23; ++y)
            for (int x = 0; x < 37; ++x) {
                const std::uint8_t* p = px.rgbaAt(x, y);
                const int v = (x * 7 + y * 11) % 256;
                if (p[0] != v || p[1] != v || p[2] != v || p[3] != 255)
                    QFAIL(qPrintable(QString("(%1, %2): %3 %4 %5 %6, expected %7")
                                         .arg(x)
                                         .arg(y)
                                         .arg(p[0])
                                         .arg(p[1])
                                         .arg(p[2])
                                         .arg(p[3])
                                         .arg(v)));
            }
    }

    void regionBeyondEdgeIsZero() {
        const auto src = openImage(raster("ihc.png"));
        const PixelBuffer whole = src->readRegion(0, {0, 0, 512, 512});
        const PixelBuffer px = src->readRegion(0, {-3, 500, 10, 20});
        QCOMPARE(px.width, 10);
        QCOMPARE(px.height, 20);
        for (int y = 0; y < 20; ++y)
            for (int x = 0; x < 10; ++x) {
                const bool inside = x >= 3 && y < 12;
                const std::uint8_t* p = px.rgbaAt(x, y);
                if (inside) {
                    QVERIFY(std::equal(p, p + 4, whole.rgbaAt(x - 3, 500 + y)));
                } else {
                    QCOMPARE(int(p[0]) + p[1] + p[2] + p[3], 0);
                }
            }
        const auto grey = openImage(raster("grey16.tif"));
        const PixelBuffer g = grey->readRegion(0, {510, 510, 4, 4});
        QVERIFY(g.grayAt(1, 1) != 0);
        QCOMPARE(int(g.grayAt(2, 1)), 0);
        QCOMPARE(int(g.grayAt(1, 3)), 0);
        QVERIFY_THROWS_EXCEPTION(ImageError, src->readRegion(1, {0, 0, 4, 4}));
        QVERIFY_THROWS_EXCEPTION(ImageError, src->readRegion(-1, {0, 0, 4, 4}));
        QVERIFY_THROWS_EXCEPTION(ImageError, src->readRegion(0, {0, 0, 4, 4}, 1));
        QVERIFY_THROWS_EXCEPTION(ImageError, src->readAssociatedImage("label"));
    }
};

QTEST_APPLESS_MAIN(RasterSourceTest)
#include "raster_source_test.moc"
