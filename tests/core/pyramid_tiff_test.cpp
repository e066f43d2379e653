// PyramidTiffWriter: pyramids of a real image (scikit-image's ihc.png, mirror-extended to
// 3000 x 2000) read back three independent ways: OpenSlide through lucida::openImage (levels,
// pixel size, objective power, pixels), libvips' tiffload run as a separate process (level-0 and
// level-1 pixels: within JPEG tolerance, exact for deflate), and libtiff directly (tags, float
// samples exactly). Also: errors name the file and leave nothing behind (a missing folder, a
// file-size limit standing in for a full disk, misuse), and a small demo slide opens in OpenSlide
// with a lesion mask of the right size and tiles that join seamlessly.
#include "fixtures/Fixtures.h"

#include "demo/DemoData.h"
#include "image/ImageSource.h"
#include "image/PyramidTiffWriter.h"

#include <tiffio.h>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <QDir>
#include <QImage>
#include <QProcess>
#include <QTemporaryDir>

#include <sys/resource.h>

#include <cmath>
#include <csignal>
#include <fstream>
#include <memory>

using namespace lucida;

namespace {

// 3000 x 2000 RGB from the 512 x 512 fixture, mirrored outwards (as make_slides.sh does with vips).
cv::Mat ihcCanvas() {
    const cv::Mat bgr = cv::imread(fixtures::path("raster/ihc.png"), cv::IMREAD_COLOR);
    if (bgr.empty()) return {};
    cv::Mat rgb;
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    cv::Mat canvas;
    cv::copyMakeBorder(rgb, canvas, 0, 2000 - rgb.rows, 0, 3000 - rgb.cols, cv::BORDER_REFLECT_101);
    return canvas;
}

RasterView viewOf(const cv::Mat& m) {
    return {m.data, m.cols, m.rows, static_cast<std::size_t>(m.step)};
}

// Writes level 0 in uneven bands (100 rows, then the rest), through the streaming API.
void writeInBands(const std::string& path, const cv::Mat& image, PyramidSampleType type,
                  const PyramidTiffOptions& options) {
    PyramidTiffWriter writer(path, image.cols, image.rows, type, options);
    int y = 0;
    for (int band : {100, 300, 256, 1}) {
        writer.appendRows(viewOf(image.rowRange(y, y + band)));
        y += band;
    }
    writer.appendRows(viewOf(image.rowRange(y, image.rows)));
    writer.finish();
}

// The writer's reduction, independently: 2 x 2 means, an odd edge averaged with itself.
cv::Mat reduceRgb(const cv::Mat& src) {
    cv::Mat out((src.rows + 1) / 2, (src.cols + 1) / 2, CV_8UC3);
    for (int y = 0; y < out.rows; ++y)
        for (int x = 0; x < out.cols; ++x) {
            const int x0 = 2 * x, x1 = std::min(2 * x + 1, src.cols - 1);
            const int y0 = 2 * y, y1 = std::min(2 * y + 1, src.rows - 1);
            for (int c = 0; c < 3; ++c)
                out.at<cv::Vec3b>(y, x)[c] = static_cast<uchar>(
                    (src.at<cv::Vec3b>(y0, x0)[c] + src.at<cv::Vec3b>(y0, x1)[c] +
                     src.at<cv::Vec3b>(y1, x0)[c] + src.at<cv::Vec3b>(y1, x1)[c] + 2) /
                    4);
        }
    return out;
}
cv::Mat reduceFloat(const cv::Mat& src) {
    cv::Mat out((src.rows + 1) / 2, (src.cols + 1) / 2, CV_32FC1);
    for (int y = 0; y < out.rows; ++y)
        for (int x = 0; x < out.cols; ++x) {
            const int x0 = 2 * x, x1 = std::min(2 * x + 1, src.cols - 1);
            const int y0 = 2 * y, y1 = std::min(2 * y + 1, src.rows - 1);
            out.at<float>(y, x) = ((src.at<float>(y0, x0) + src.at<float>(y0, x1)) +
                                   (src.at<float>(y1, x0) + src.at<float>(y1, x1))) *
                                  0.25f;
        }
    return out;
}

// libvips decodes one page (tiffload explicitly: not through OpenSlide) into an RGB image.
QImage vipsPage(const QString& tiff, int page, const QString& outDir) {
    const QString png = outDir + QString("/vips-page%1.png").arg(page);
    QProcess vips;
    vips.setProcessChannelMode(QProcess::MergedChannels);
    vips.start("vips", {"tiffload", tiff, png, "--page", QString::number(page)});
    if (!vips.waitForFinished(120000) || vips.exitCode() != 0) {
        qWarning("vips: %s", vips.readAll().constData());
        return {};
    }
    return QImage(png).convertToFormat(QImage::Format_RGB888);
}

struct Difference {
    int max = 0;
    double mean = 0;
};
// Per channel, image (RGB888) against the original (RGB).
Difference difference(const QImage& image, const cv::Mat& rgb) {
    Difference d;
    if (image.width() != rgb.cols || image.height() != rgb.rows) return {1000, 1000};
    double sum = 0;
    for (int y = 0; y < rgb.rows; ++y) {
        const uchar* a = image.constScanLine(y);
        const uchar* b = rgb.ptr<uchar>(y);
        for (int i = 0; i < 3 * rgb.cols; ++i) {
            const int e = std::abs(int(a[i]) - int(b[i]));
            d.max = std::max(d.max, e);
            sum += e;
        }
    }
    d.mean = sum / (3.0 * rgb.cols * rgb.rows);
    return d;
}

// Lucida's (OpenSlide's) pixels of a whole level as an RGB888 image.
QImage lucidaLevel(const ImageSource& src, int level) {
    const Level& l = src.info().level(level);
    const PixelBuffer px = src.readRegion(level, {0, 0, l.width, l.height});
    QImage out(px.width, px.height, QImage::Format_RGB888);
    for (int y = 0; y < px.height; ++y)
        for (int x = 0; x < px.width; ++x) {
            const std::uint8_t* p = px.rgbaAt(x, y);
            uchar* o = out.scanLine(y) + 3 * x;
            o[0] = p[0];
            o[1] = p[1];
            o[2] = p[2];
        }
    return out;
}

int maxDifference(const QImage& a, const QImage& b) {
    if (a.size() != b.size()) return 1000;
    int worst = 0;
    for (int y = 0; y < a.height(); ++y)
        for (int i = 0; i < 3 * a.width(); ++i)
            worst =
                std::max(worst, std::abs(int(a.constScanLine(y)[i]) - int(b.constScanLine(y)[i])));
    return worst;
}

std::unique_ptr<TIFF, void (*)(TIFF*)> openTiff(const std::string& path) {
    return {TIFFOpen(path.c_str(), "r"), TIFFClose};
}

bool noTemporaries(const QString& dir) {
    return QDir(dir).entryList({"*.tmp-*"}, QDir::Files | QDir::Hidden).isEmpty();
}

const std::vector<std::pair<std::int64_t, std::int64_t>> kLevels = {
    {3000, 2000}, {1500, 1000}, {750, 500}, {375, 250}, {188, 125}};

}  // namespace

class PyramidTiffTest : public QObject {
    Q_OBJECT

private slots:
    void levelSizes() {
        const auto l = pyramidLevelSizes(3000, 2000, 256);
        QCOMPARE(l.size(), kLevels.size());
        for (std::size_t i = 0; i < l.size(); ++i) {
            QCOMPARE(l[i].width, kLevels[i].first);
            QCOMPARE(l[i].height, kLevels[i].second);
        }
        QCOMPARE(pyramidLevelSizes(256, 100, 256).size(), std::size_t(1));
        QCOMPARE(pyramidLevelSizes(24576, 20480, 256).size(), std::size_t(8));
    }

    void jpegPyramidOpensInOpenSlideAndMatchesLibvips() {
        const cv::Mat image = ihcCanvas();
        QVERIFY2(!image.empty(), "fixture raster/ihc.png missing");
        QTemporaryDir tmp;
        const std::string path = tmp.filePath("ihc-jpeg.tiff").toStdString();
        PyramidTiffOptions options;
        options.micronsPerPixel = 0.5;
        options.objectivePower = 20;
        options.jpegQuality = 90;
        options.description = "ihc test | pyramid";
        writeInBands(path, image, PyramidSampleType::Rgb8, options);
        QVERIFY(noTemporaries(tmp.path()));

        const auto src = openImage(path);
        const ImageInfo& info = src->info();
        QVERIFY2(info.format.find("aperio") != std::string::npos, info.format.c_str());
        QCOMPARE(info.levels.size(), kLevels.size());
        for (std::size_t i = 0; i < kLevels.size(); ++i) {
            QCOMPARE(info.levels[i].width, kLevels[i].first);
            QCOMPARE(info.levels[i].height, kLevels[i].second);
        }
        QCOMPARE(info.levels[1].downsample, 2.0);
        QVERIFY(info.mppX && info.mppY && info.objectivePower);
        QCOMPARE(*info.mppX, 0.5);
        QCOMPARE(*info.mppY, 0.5);
        QCOMPARE(*info.objectivePower, 20.0);
        QCOMPARE(info.property("aperio.Description").value_or("(none)"),
                 std::string("ihc test   pyramid"));

        const QImage vips0 = vipsPage(QString::fromStdString(path), 0, tmp.path());
        QVERIFY(!vips0.isNull());
        const Difference d = difference(vips0, image);
        qInfo("JPEG Q90 level 0 against the original: max %d, mean %.2f", d.max, d.mean);
        QVERIFY2(d.mean < 3.0 && d.max < 80, qPrintable(QString::number(d.mean)));
        // OpenSlide and libvips decode the same JPEG tiles.
        const int both = maxDifference(lucidaLevel(*src, 0), vips0);
        qInfo("OpenSlide against libvips, level 0: max difference %d", both);
        QVERIFY2(both <= 2, qPrintable(QString::number(both)));
        const QImage vips1 = vipsPage(QString::fromStdString(path), 1, tmp.path());
        QCOMPARE(vips1.width(), 1500);
        QCOMPARE(vips1.height(), 1000);
        const Difference d1 = difference(vips1, reduceRgb(image));
        qInfo("JPEG Q90 level 1 against the reduced original: mean %.2f", d1.mean);
        QVERIFY2(d1.mean < 5.0, qPrintable(QString::number(d1.mean)));
        QVERIFY(maxDifference(lucidaLevel(*src, 1), vips1) <= 2);
    }

    void tiffStructure() {
        const cv::Mat image = ihcCanvas();
        QVERIFY(!image.empty());
        QTemporaryDir tmp;
        const std::string path = tmp.filePath("ihc.tif").toStdString();
        PyramidTiffOptions options;
        options.micronsPerPixel = 0.25;
        writePyramidTiff(path, viewOf(image), PyramidSampleType::Rgb8, options);
        const auto tif = openTiff(path);
        QVERIFY(tif);
        QCOMPARE(int(TIFFNumberOfDirectories(tif.get())), int(kLevels.size()));
        for (int d = 0; d < int(kLevels.size()); ++d) {
            QVERIFY(TIFFSetDirectory(tif.get(), static_cast<tdir_t>(d)));
            std::uint32_t w = 0, h = 0, tw = 0, th = 0, subfile = 0;
            std::uint16_t unit = 0, compression = 0, photometric = 0;
            float xres = 0, yres = 0;
            QVERIFY(TIFFIsTiled(tif.get()));
            TIFFGetField(tif.get(), TIFFTAG_IMAGEWIDTH, &w);
            TIFFGetField(tif.get(), TIFFTAG_IMAGELENGTH, &h);
            TIFFGetField(tif.get(), TIFFTAG_TILEWIDTH, &tw);
            TIFFGetField(tif.get(), TIFFTAG_TILELENGTH, &th);
            TIFFGetFieldDefaulted(tif.get(), TIFFTAG_SUBFILETYPE, &subfile);
            TIFFGetField(tif.get(), TIFFTAG_RESOLUTIONUNIT, &unit);
            TIFFGetField(tif.get(), TIFFTAG_XRESOLUTION, &xres);
            TIFFGetField(tif.get(), TIFFTAG_YRESOLUTION, &yres);
            TIFFGetField(tif.get(), TIFFTAG_COMPRESSION, &compression);
            TIFFGetField(tif.get(), TIFFTAG_PHOTOMETRIC, &photometric);
            QCOMPARE(std::int64_t(w), kLevels[std::size_t(d)].first);
            QCOMPARE(std::int64_t(h), kLevels[std::size_t(d)].second);
            // Square tiles, smaller only for levels smaller than a tile.
            QCOMPARE(tw, w >= 256 ? 256u : w / 16 * 16);
            QCOMPARE(th, h >= 256 ? 256u : h / 16 * 16);
            QCOMPARE(subfile, d == 0 ? 0u : std::uint32_t(FILETYPE_REDUCEDIMAGE));
            QCOMPARE(unit, std::uint16_t(RESUNIT_CENTIMETER));
            // 0.25 um/px = 40000 px/cm at level 0, less by each level's true downsample.
            QVERIFY(std::abs(xres - 40000.0 * w / 3000.0) < 0.01);
            QVERIFY(std::abs(yres - 40000.0 * h / 2000.0) < 0.01);
            QCOMPARE(compression, std::uint16_t(COMPRESSION_JPEG));
            QCOMPARE(photometric, std::uint16_t(PHOTOMETRIC_YCBCR));
            char* description = nullptr;
            const bool hasDescription =
                TIFFGetField(tif.get(), TIFFTAG_IMAGEDESCRIPTION, &description);
            QCOMPARE(hasDescription, d == 0);
            if (d == 0) QVERIFY(std::string(description).rfind("Aperio Image Library", 0) == 0);
        }
    }

    void deflatePyramidIsLossless() {
        const cv::Mat image = ihcCanvas();
        QVERIFY(!image.empty());
        QTemporaryDir tmp;
        const std::string path = tmp.filePath("ihc-deflate.tif").toStdString();
        PyramidTiffOptions options;
        options.compression = PyramidCompression::Deflate;
        options.micronsPerPixel = 0.5;
        options.aperioDescription = false;  // a plain generic TIFF
        options.description = "plain";
        options.tileSize = 512;
        writeInBands(path, image, PyramidSampleType::Rgb8, options);

        const auto src = openImage(path);
        QVERIFY2(src->info().format.find("generic-tiff") != std::string::npos,
                 src->info().format.c_str());
        // 512-px tiles: 3000 -> 1500 -> 750 -> 375 (fits).
        QCOMPARE(src->info().levels.size(), std::size_t(4));
        QCOMPARE(src->info().level(3).width, 375);
        // OpenSlide 3.4 reads no pixel size from generic TIFFs (hence the Aperio description).
        QCOMPARE(src->info().property("tiff.ResolutionUnit").value_or(""),
                 std::string("centimeter"));
        QCOMPARE(src->info().property("tiff.ImageDescription").value_or(""), std::string("plain"));

        const QImage vips0 = vipsPage(QString::fromStdString(path), 0, tmp.path());
        const Difference d = difference(vips0, image);
        QCOMPARE(d.max, 0);
        const Difference viaOpenSlide = difference(lucidaLevel(*src, 0), image);
        QCOMPARE(viaOpenSlide.max, 0);
        const cv::Mat half = reduceRgb(image);
        QCOMPARE(difference(vipsPage(QString::fromStdString(path), 1, tmp.path()), half).max, 0);
        QCOMPARE(difference(lucidaLevel(*src, 2), reduceRgb(half)).max, 0);
        // Levels 2 and 3 are smaller than a 512-px tile (OpenSlide 3.4 with libtiff 4.5 would
        // misread such tiles): level 3 (375 x 250) has 368 x 240 tiles.
        const cv::Mat eighth = reduceRgb(reduceRgb(half));
        QCOMPARE(difference(lucidaLevel(*src, 3), eighth).max, 0);
        QCOMPARE(difference(vipsPage(QString::fromStdString(path), 3, tmp.path()), eighth).max, 0);
        const auto tif = openTiff(path);
        QVERIFY(TIFFSetDirectory(tif.get(), 3));
        std::uint32_t tw = 0, th = 0;
        TIFFGetField(tif.get(), TIFFTAG_TILEWIDTH, &tw);
        TIFFGetField(tif.get(), TIFFTAG_TILELENGTH, &th);
        QCOMPARE(tw, 368u);
        QCOMPARE(th, 240u);
    }

    void floatPyramidReadsBackExactly() {
        // A probability-like map with negative, tiny and large values and odd sizes.
        cv::Mat map(701, 1003, CV_32FC1);
        for (int y = 0; y < map.rows; ++y)
            for (int x = 0; x < map.cols; ++x)
                map.at<float>(y, x) = std::sin(x * 0.013f) * std::cos(y * 0.021f) +
                                      (x == 5 ? 1e-30f : 0.0f) + (y == 7 ? 1e20f : 0.0f);
        QTemporaryDir tmp;
        const std::string path = tmp.filePath("map.tiff").toStdString();
        PyramidTiffOptions options;
        options.tileSize = 128;
        options.micronsPerPixel = 8.0;
        options.compression = PyramidCompression::Jpeg;  // ignored: floats are always deflate
        options.description = "probability of tumour";
        writeInBands(path, map, PyramidSampleType::Float32, options);

        const auto tif = openTiff(path);
        QVERIFY(tif);
        // 1003 x 701 -> 502 x 351 -> 251 x 176 -> 126 x 88.
        QCOMPARE(int(TIFFNumberOfDirectories(tif.get())), 4);
        cv::Mat expected = map;
        for (int d = 0; d < 4; ++d) {
            QVERIFY(TIFFSetDirectory(tif.get(), static_cast<tdir_t>(d)));
            std::uint32_t w = 0, h = 0, tw = 0, th = 0;
            std::uint16_t bits = 0, format = 0, spp = 0, compression = 0, unit = 0;
            float xres = 0;
            TIFFGetField(tif.get(), TIFFTAG_IMAGEWIDTH, &w);
            TIFFGetField(tif.get(), TIFFTAG_IMAGELENGTH, &h);
            TIFFGetField(tif.get(), TIFFTAG_TILEWIDTH, &tw);
            TIFFGetField(tif.get(), TIFFTAG_TILELENGTH, &th);
            TIFFGetField(tif.get(), TIFFTAG_BITSPERSAMPLE, &bits);
            TIFFGetField(tif.get(), TIFFTAG_SAMPLEFORMAT, &format);
            TIFFGetField(tif.get(), TIFFTAG_SAMPLESPERPIXEL, &spp);
            TIFFGetField(tif.get(), TIFFTAG_COMPRESSION, &compression);
            TIFFGetField(tif.get(), TIFFTAG_RESOLUTIONUNIT, &unit);
            TIFFGetField(tif.get(), TIFFTAG_XRESOLUTION, &xres);
            QCOMPARE(int(w), expected.cols);
            QCOMPARE(int(h), expected.rows);
            QCOMPARE(tw, w >= 128 ? 128u : w / 16 * 16);
            QCOMPARE(th, h >= 128 ? 128u : h / 16 * 16);
            QCOMPARE(bits, std::uint16_t(32));
            QCOMPARE(format, std::uint16_t(SAMPLEFORMAT_IEEEFP));
            QCOMPARE(spp, std::uint16_t(1));
            QCOMPARE(compression, std::uint16_t(COMPRESSION_ADOBE_DEFLATE));
            QCOMPARE(unit, std::uint16_t(RESUNIT_CENTIMETER));
            QVERIFY(std::abs(xres - 1250.0 * w / 1003.0) < 1e-3);
            std::vector<float> tile(static_cast<std::size_t>(tw) * th);
            int mismatches = 0;
            for (std::uint32_t ty = 0; ty < h; ty += th)
                for (std::uint32_t tx = 0; tx < w; tx += tw) {
                    QVERIFY(TIFFReadTile(tif.get(), tile.data(), tx, ty, 0, 0) > 0);
                    for (std::uint32_t y = ty; y < std::min(h, ty + th); ++y)
                        for (std::uint32_t x = tx; x < std::min(w, tx + tw); ++x)
                            if (std::memcmp(&tile[(y - ty) * tw + (x - tx)],
                                            &expected.at<float>(int(y), int(x)), 4) != 0)
                                ++mismatches;
                }
            QCOMPARE(mismatches, 0);
            expected = reduceFloat(expected);
        }
    }

    void errorsNameTheFileAndLeaveNothing() {
        QTemporaryDir tmp;
        const cv::Mat image = ihcCanvas();
        QVERIFY(!image.empty());
        const std::string missing = tmp.filePath("no/such/folder/x.tif").toStdString();
        try {
            writePyramidTiff(missing, viewOf(image), PyramidSampleType::Rgb8, {});
            QFAIL("wrote into a missing folder");
        } catch (const std::runtime_error& e) {
            QVERIFY2(std::string(e.what()).find(missing) != std::string::npos, e.what());
            QVERIFY2(std::string(e.what()).find("No such file") != std::string::npos, e.what());
        }

        const std::string path = tmp.filePath("x.tif").toStdString();
        PyramidTiffOptions bad;
        bad.tileSize = 100;
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                                 PyramidTiffWriter(path, 10, 10, PyramidSampleType::Rgb8, bad));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                                 PyramidTiffWriter(path, 0, 10, PyramidSampleType::Rgb8, {}));
        {
            PyramidTiffWriter writer(path, 3000, 2000, PyramidSampleType::Rgb8, {});
            QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                                     writer.appendRows(viewOf(image.colRange(0, 2999))));
            writer.appendRows(viewOf(image.rowRange(0, 300)));
            QVERIFY_THROWS_EXCEPTION(std::logic_error, writer.finish());
            QVERIFY(!noTemporaries(tmp.path()));  // being written
        }  // abandoned: the temporary goes, nothing appears under the final name
        QVERIFY(noTemporaries(tmp.path()));
        QVERIFY(!QFileInfo::exists(QString::fromStdString(path)));

        // A file-size limit fails writes like a full disk does.
        struct rlimit old {};
        QVERIFY(getrlimit(RLIMIT_FSIZE, &old) == 0);
        const auto oldHandler = std::signal(SIGXFSZ, SIG_IGN);
        struct rlimit small = old;
        small.rlim_cur = 256 * 1024;
        QVERIFY(setrlimit(RLIMIT_FSIZE, &small) == 0);
        std::string message;
        try {
            PyramidTiffOptions lossless;
            lossless.compression = PyramidCompression::Deflate;
            writePyramidTiff(path, viewOf(image), PyramidSampleType::Rgb8, lossless);
        } catch (const std::runtime_error& e) {
            message = e.what();
        }
        setrlimit(RLIMIT_FSIZE, &old);
        std::signal(SIGXFSZ, oldHandler);
        qInfo("%s", message.c_str());
        QVERIFY2(message.rfind(path + ": ", 0) == 0, message.c_str());
        QVERIFY2(message.find("File too large") != std::string::npos, message.c_str());
        QVERIFY(noTemporaries(tmp.path()));
        QVERIFY(!QFileInfo::exists(QString::fromStdString(path)));

        // An existing file is replaced only by a complete one.
        { std::ofstream(path) << "old"; }
        setrlimit(RLIMIT_FSIZE, &small);
        std::signal(SIGXFSZ, SIG_IGN);
        PyramidTiffOptions lossless;
        lossless.compression = PyramidCompression::Deflate;
        bool failed = false;
        try {
            writePyramidTiff(path, viewOf(image), PyramidSampleType::Rgb8, lossless);
        } catch (const std::runtime_error&) {
            failed = true;
        }
        setrlimit(RLIMIT_FSIZE, &old);
        std::signal(SIGXFSZ, oldHandler);
        QVERIFY(failed);
        QCOMPARE(QFileInfo(QString::fromStdString(path)).size(), qint64(3));
    }

    void demoSlideOpensWithMatchingMask() {
        QTemporaryDir tmp;
        demo::DemoSlideOptions options;
        options.width = 4096;
        options.height = 3072;
        options.lossless = true;  // pixel-exact comparison with the renderer below
        const std::string path = tmp.filePath("demo.tiff").toStdString();
        const std::string mask = tmp.filePath("demo-mask.png").toStdString();
        const demo::DemoSlideResult result = demo::writeDemoSlide(path, mask, options);
        QCOMPARE(result.jsonPath, tmp.filePath("demo.json").toStdString());

        const auto src = openImage(path);
        const ImageInfo& info = src->info();
        QCOMPARE(info.width(), 4096);
        QCOMPARE(info.height(), 3072);
        QCOMPARE(info.levels.size(), std::size_t(5));  // 4096 … 256
        QVERIFY(info.mppX && info.objectivePower);
        QCOMPARE(*info.mppX, 0.5);
        QCOMPARE(*info.objectivePower, 20.0);

        const QImage maskImage(QString::fromStdString(mask));
        QCOMPARE(maskImage.width(), 4096 / demo::kDemoMaskScale);
        QCOMPARE(maskImage.height(), 3072 / demo::kDemoMaskScale);
        const QImage grey = maskImage.convertToFormat(QImage::Format_Grayscale8);
        std::int64_t inside = 0;
        for (int y = 0; y < grey.height(); ++y)
            for (int x = 0; x < grey.width(); ++x) {
                const int v = grey.constScanLine(y)[x];
                QVERIFY(v == 0 || v == 255);
                inside += v == 255;
            }

        std::ifstream jsonFile(result.jsonPath);
        const auto json = nlohmann::json::parse(jsonFile);
        QCOMPARE(json["width"].get<int>(), 4096);
        QCOMPARE(json["mask"]["scale"].get<int>(), demo::kDemoMaskScale);
        QCOMPARE(json["mask"]["file"].get<std::string>(), std::string("demo-mask.png"));
        const auto& lesions = json["lesions"];
        QVERIFY2(lesions.size() >= 3 && lesions.size() <= 5,
                 qPrintable(QString::number(lesions.size())));
        QCOMPARE(lesions.size(), result.lesions.size());
        std::int64_t area = 0;
        for (const auto& l : lesions) {
            const auto x = l["x"].get<std::int64_t>(), y = l["y"].get<std::int64_t>();
            const auto w = l["width"].get<std::int64_t>(), h = l["height"].get<std::int64_t>();
            QVERIFY(x >= 0 && y >= 0 && x + w <= 4096 && y + h <= 3072 && w > 0 && h > 0);
            area += l["area_px"].get<std::int64_t>();
            // The box's mask pixels are in the lesion mask.
            const int cx = int((x + w / 2) / demo::kDemoMaskScale);
            const int cy = int((y + h / 2) / demo::kDemoMaskScale);
            QCOMPARE(int(grey.constScanLine(cy)[cx]), 255);
        }
        QCOMPARE(area, inside * demo::kDemoMaskScale * demo::kDemoMaskScale);

        // Tile by tile into the file, in one piece from the renderer: the same pixels, across
        // tile seams and around a lesion.
        const demo::DemoSlide slide(options);
        const demo::DemoLesion& l = result.lesions.front();
        const Rect rect{(l.x / 256) * 256 + 200, (l.y / 256) * 256 + 180, 333, 301};
        std::vector<std::uint8_t> rendered(std::size_t(rect.width) * rect.height * 3);
        slide.render(rect.x, rect.y, int(rect.width), int(rect.height), rendered.data(),
                     std::size_t(rect.width) * 3);
        const PixelBuffer px = src->readRegion(0, rect);
        int mismatches = 0;
        for (int y = 0; y < px.height; ++y)
            for (int x = 0; x < px.width; ++x)
                for (int c = 0; c < 3; ++c)
                    mismatches +=
                        px.rgbaAt(x, y)[c] != rendered[(std::size_t(y) * rect.width + x) * 3 + c];
        QCOMPARE(mismatches, 0);
    }
};

QTEST_APPLESS_MAIN(PyramidTiffTest)
#include "pyramid_tiff_test.moc"
