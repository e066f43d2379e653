// The synthetic H&E demo set (core/demo/DemoData.h): deterministic (two runs, byte-identical
// files; another seed, other files), the counts, names and masks asked for, lesions covering
// 10-35% of a tumour patch, and lesions that really look different: inside the mask, measured here
// with OpenCV on the patch pixels, tissue is darker, has a larger share of nucleus pixels and
// larger nuclei than outside. The slide layout: lesions inside tissue, darker than the rest, and
// rendering independent of the rectangle asked for.
#include "demo/DemoData.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <QDirIterator>
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include <map>

using namespace lucida;

namespace {

constexpr int kTrain = 6, kVal = 3, kTest = 4;

demo::DemoSetOptions smallSet(std::uint64_t seed = 99) {
    demo::DemoSetOptions o;
    o.seed = seed;
    o.trainPerClass = kTrain;
    o.valPerClass = kVal;
    o.testPerClass = kTest;
    return o;
}

// Relative path -> bytes of every file under root.
std::map<QString, QByteArray> readTree(const QString& root) {
    std::map<QString, QByteArray> files;
    QDirIterator it(root, QDir::Files, QDirIterator::Subdirectories);
    while (it.hasNext()) {
        const QString path = it.next();
        QFile f(path);
        if (f.open(QIODevice::ReadOnly)) files[QDir(root).relativeFilePath(path)] = f.readAll();
    }
    return files;
}

// Haematoxylin-stained (nucleus) pixels: dark and bluish, where stroma is bright pink.
cv::Mat nucleusPixels(const cv::Mat& bgr) {
    cv::Mat out(bgr.size(), CV_8UC1);
    for (int y = 0; y < bgr.rows; ++y)
        for (int x = 0; x < bgr.cols; ++x) {
            const cv::Vec3b p = bgr.at<cv::Vec3b>(y, x);
            out.at<uchar>(y, x) = (p[2] < 150 && p[0] > p[2]) ? 255 : 0;
        }
    return out;
}

struct Measures {
    double darkness = 0;      // 255 - mean grey
    double nucleusShare = 0;  // share of nucleus pixels
    int pixels = 0;
};
Measures measure(const cv::Mat& bgr, const cv::Mat& nuclei, const cv::Mat& region) {
    cv::Mat grey;
    cv::cvtColor(bgr, grey, cv::COLOR_BGR2GRAY);
    Measures m;
    m.pixels = cv::countNonZero(region);
    if (m.pixels == 0) return m;
    m.darkness = 255.0 - cv::mean(grey, region)[0];
    cv::Mat both;
    cv::bitwise_and(nuclei, region, both);
    m.nucleusShare = double(cv::countNonZero(both)) / m.pixels;
    return m;
}

// Mean area of the nucleus blobs whose centre lies in `region`.
double meanNucleusArea(const cv::Mat& nuclei, const cv::Mat& region, int& count) {
    cv::Mat labels, stats, centroids;
    const int n = cv::connectedComponentsWithStats(nuclei, labels, stats, centroids, 8);
    double sum = 0;
    count = 0;
    for (int i = 1; i < n; ++i) {
        const int x = int(centroids.at<double>(i, 0)), y = int(centroids.at<double>(i, 1));
        if (region.at<uchar>(y, x) == 0) continue;
        sum += stats.at<int>(i, cv::CC_STAT_AREA);
        ++count;
    }
    return count ? sum / count : 0.0;
}

}  // namespace

class DemoDataTest : public QObject {
    Q_OBJECT

private slots:
    void deterministic() {
        QTemporaryDir a, b, c;
        demo::writeDemoSet(a.path().toStdString(), smallSet());
        demo::writeDemoSet(b.path().toStdString(), smallSet());
        demo::writeDemoSet(c.path().toStdString(), smallSet(100));
        const auto first = readTree(a.path());
        const auto second = readTree(b.path());
        const auto other = readTree(c.path());
        QCOMPARE(first.size(), std::size_t(2 * 2 * (kTrain + kVal + kTest) + 1));
        QVERIFY(first == second);
        int differing = 0;
        for (const auto& [name, bytes] : first)
            if (name.endsWith(".png") && !name.startsWith("masks/"))
                differing += other.at(name) != bytes;
        QCOMPARE(differing, 2 * (kTrain + kVal + kTest));
        // The in-memory API gives what was written.
        const demo::DemoPatch p = demo::renderDemoPatch(99, 1, true, 2);
        cv::Mat bgr = cv::imread((a.path() + "/val/tumour/tumour_0002.png").toStdString());
        QCOMPARE(bgr.cols, 128);
        cv::Mat rgb;
        cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
        QVERIFY(std::equal(p.rgb.begin(), p.rgb.end(), rgb.data));
    }

    void layoutCountsAndMasks() {
        QTemporaryDir dir;
        const demo::DemoSetSummary summary =
            demo::writeDemoSet(dir.path().toStdString(), smallSet());
        QCOMPARE(summary.patches, 2 * (kTrain + kVal + kTest));
        QVERIFY(QFile::exists(dir.path() + "/README.txt"));
        const std::map<QString, int> counts = {{"train", kTrain}, {"val", kVal}, {"test", kTest}};
        for (const auto& [split, count] : counts)
            for (const QString cls : {"normal", "tumour"}) {
                const QString folder = dir.path() + "/" + split + "/" + cls;
                const QStringList files = QDir(folder).entryList(QDir::Files, QDir::Name);
                QCOMPARE(files.size(), count);
                QCOMPARE(QDir(dir.path() + "/masks/" + split + "/" + cls)
                             .entryList(QDir::Files, QDir::Name),
                         files);
                for (const QString& file : files) {
                    const cv::Mat patch =
                        cv::imread((folder + "/" + file).toStdString(), cv::IMREAD_UNCHANGED);
                    QCOMPARE(patch.type(), CV_8UC3);
                    QCOMPARE(patch.cols, 128);
                    QCOMPARE(patch.rows, 128);
                    const cv::Mat mask = cv::imread(
                        (dir.path() + "/masks/" + split + "/" + cls + "/" + file).toStdString(),
                        cv::IMREAD_UNCHANGED);
                    QCOMPARE(mask.type(), CV_8UC1);
                    QCOMPARE(mask.size(), patch.size());
                    QCOMPARE(cv::countNonZero((mask > 0) & (mask < 255)), 0);
                    const double share = cv::countNonZero(mask) / double(mask.total());
                    if (cls == "normal") {
                        QCOMPARE(share, 0.0);
                    } else {
                        QVERIFY2(share >= 0.10 && share <= 0.35,
                                 qPrintable(file + ": " + QString::number(share)));
                    }
                }
            }
        QVERIFY(summary.meanLesionShare > 0.12 && summary.meanLesionShare < 0.33);
    }

    void lesionsLookDifferent() {
        // Aggregated over many tumour patches, and per patch for nearly all of them.
        double darkIn = 0, darkOut = 0, shareIn = 0, shareOut = 0, areaIn = 0, areaOut = 0;
        int darker = 0, patches = 0, blobsIn = 0, blobsOut = 0;
        for (int i = 0; i < 40; ++i) {
            const demo::DemoPatch p = demo::renderDemoPatch(demo::kDefaultSeed, 0, true, i);
            cv::Mat rgb(p.size, p.size, CV_8UC3, const_cast<std::uint8_t*>(p.rgb.data()));
            cv::Mat bgr;
            cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
            const cv::Mat mask(p.size, p.size, CV_8UC1, const_cast<std::uint8_t*>(p.mask.data()));
            cv::Mat outside;
            cv::bitwise_not(mask, outside);
            const cv::Mat nuclei = nucleusPixels(bgr);
            const Measures in = measure(bgr, nuclei, mask);
            const Measures out = measure(bgr, nuclei, outside);
            QVERIFY(in.pixels > 0 && out.pixels > 0);
            darkIn += in.darkness;
            darkOut += out.darkness;
            shareIn += in.nucleusShare;
            shareOut += out.nucleusShare;
            darker += in.darkness > out.darkness + 10;
            int n = 0;
            areaIn += meanNucleusArea(nuclei, mask, n) * n;
            blobsIn += n;
            areaOut += meanNucleusArea(nuclei, outside, n) * n;
            blobsOut += n;
            ++patches;
        }
        darkIn /= patches;
        darkOut /= patches;
        shareIn /= patches;
        shareOut /= patches;
        areaIn /= std::max(blobsIn, 1);
        areaOut /= std::max(blobsOut, 1);
        qInfo(
            "inside / outside the lesion: darkness %.1f / %.1f, nucleus pixels %.3f / %.3f, "
            "nucleus area %.0f / %.0f px; %d of %d patches clearly darker inside",
            darkIn, darkOut, shareIn, shareOut, areaIn, areaOut, darker, patches);
        QVERIFY(darkIn > darkOut + 30);
        QVERIFY(shareIn > 3 * shareOut);
        QVERIFY(areaIn > 2 * areaOut);
        QVERIFY(darker >= patches * 9 / 10);

        // Normal patches have nuclei (6-12 px), just fewer and smaller.
        double normalShare = 0;
        for (int i = 0; i < 20; ++i) {
            const demo::DemoPatch p = demo::renderDemoPatch(demo::kDefaultSeed, 0, false, i);
            cv::Mat rgb(p.size, p.size, CV_8UC3, const_cast<std::uint8_t*>(p.rgb.data()));
            cv::Mat bgr;
            cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
            normalShare += cv::countNonZero(nucleusPixels(bgr)) / double(p.size * p.size) / 20;
        }
        qInfo("nucleus pixels in normal patches: %.3f", normalShare);
        QVERIFY(normalShare > 0.005 && normalShare < shareIn / 3);
    }

    void slideLayout() {
        demo::DemoSlideOptions options;
        options.width = 3072;
        options.height = 2560;
        options.seed = 7;
        const demo::DemoSlide slide(options);
        QVERIFY(slide.lesions().size() >= 3 && slide.lesions().size() <= 5);
        QVERIFY2(slide.tissueShare() > 0.15 && slide.tissueShare() < 0.8,
                 qPrintable(QString::number(slide.tissueShare())));
        QCOMPARE(slide.maskWidth(), 3072 / 16);
        QCOMPARE(slide.maskHeight(), 2560 / 16);

        // A lesion box centre is darker than the slide's tissue elsewhere, and corners are glass.
        const auto meanGrey = [&](std::int64_t x, std::int64_t y, int w, int h) {
            std::vector<std::uint8_t> rgb(std::size_t(w) * h * 3);
            slide.render(x, y, w, h, rgb.data(), std::size_t(w) * 3);
            double sum = 0;
            for (std::size_t i = 0; i < rgb.size(); ++i) sum += rgb[i];
            return sum / double(rgb.size());
        };
        QVERIFY(meanGrey(0, 0, 64, 64) > 235);
        for (const demo::DemoLesion& l : slide.lesions()) {
            QVERIFY(l.width >= 48 && l.width <= 600 && l.height >= 48 && l.height <= 600);
            const double lesion = meanGrey(l.x + l.width / 2 - 24, l.y + l.height / 2 - 24, 48, 48);
            const double ring = meanGrey(l.x - 160, l.y + l.height / 2 - 24, 48, 48);
            qInfo("lesion %d: grey %.0f, beside it %.0f", l.id, lesion, ring);
            QVERIFY(lesion + 25 < ring);
        }

        // The same pixels whatever rectangle they are rendered in.
        std::vector<std::uint8_t> big(300 * 280 * 3), part(77 * 51 * 3);
        const demo::DemoLesion& l = slide.lesions().front();
        const std::int64_t x0 = l.x - 100, y0 = l.y - 90;
        slide.render(x0, y0, 300, 280, big.data(), 300 * 3);
        slide.render(x0 + 123, y0 + 61, 77, 51, part.data(), 77 * 3);
        int mismatches = 0;
        for (int y = 0; y < 51; ++y)
            for (int x = 0; x < 77 * 3; ++x)
                mismatches += part[std::size_t(y) * 77 * 3 + x] !=
                              big[std::size_t(y + 61) * 300 * 3 + 123 * 3 + x];
        QCOMPARE(mismatches, 0);
    }

    void badOptionsThrow() {
        QTemporaryDir dir;
        demo::DemoSetOptions o = smallSet();
        o.patchSize = 16;
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                                 demo::writeDemoSet(dir.path().toStdString(), o));
        o = smallSet();
        o.trainPerClass = -1;
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                                 demo::writeDemoSet(dir.path().toStdString(), o));
        demo::DemoSlideOptions s;
        s.width = 500;
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, demo::DemoSlide{s});
        // A folder that cannot be created names itself.
        QFile blocker(dir.path() + "/file");
        QVERIFY(blocker.open(QIODevice::WriteOnly));
        blocker.close();
        try {
            demo::writeDemoSet((dir.path() + "/file/sub").toStdString(), smallSet());
            QFAIL("wrote under a regular file");
        } catch (const std::runtime_error& e) {
            QVERIFY2(std::string(e.what()).find("/file/sub") != std::string::npos, e.what());
        }
    }
};

QTEST_APPLESS_MAIN(DemoDataTest)
#include "demo_data_test.moc"
