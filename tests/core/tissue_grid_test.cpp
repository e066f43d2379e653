// Tissue detection and patch grids against a synthetic slide whose ground truth the test knows:
// two blobs with the texture of a real stained section (scikit-image's ihc.png, tinted pink like
// eosin so its pale stroma stays coloured), a glass hole in one, and specks, on noisy glass,
// written by libvips as a tiled JPEG pyramid with an Aperio description (MPP 0.5, AppMag 20: the
// OpenSlide 3.4 that Debian ships reads no resolution from a generic TIFF) and read back through
// OpenSlide. Patch grids are checked against exact sizes, level choice, fallbacks and a
// brute-force scan.
#include "fixtures/Fixtures.h"

#include "analysis/PatchGrid.h"
#include "analysis/TissueMask.h"
#include "image/ImageSource.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <QProcess>
#include <QTemporaryDir>

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <set>
#include <stdexcept>
#include <tuple>

using namespace lucida;

namespace {

constexpr int kWidth = 4800, kHeight = 3200;  // level 0; 0.5 µm/px
constexpr int kSpeckRadius = 30;

struct Ellipse {
    double cx, cy, ax, ay, angle;  // level-0 centre, semi-axes, degrees
};
const Ellipse kBlobA{1500, 1500, 1000, 800, 0};
const Ellipse kHole{1500, 1500, 260, 200, 0};  // glass inside blob A
const Ellipse kBlobB{3600, 1800, 700, 1100, 25};
const std::vector<cv::Point> kSpecks = {{250, 250}, {250, 2950}, {2600, 3000}, {4600, 250}};

// Draws `e` into a mask whose pixels are `ds` level-0 pixels wide (pixel centres at (i+0.5)*ds).
void draw(cv::Mat& m, const Ellipse& e, double ds, int value) {
    const cv::Point2f c(float((e.cx + 0.5) / ds - 0.5), float((e.cy + 0.5) / ds - 0.5));
    const cv::Size2f size(float(2 * e.ax / ds), float(2 * e.ay / ds));
    cv::ellipse(m, cv::RotatedRect(c, size, float(e.angle)), cv::Scalar(value), cv::FILLED);
}

// The tissue as the detector should report it: both blobs, the hole filled, no specks.
cv::Mat truth(int width, int height, double ds) {
    cv::Mat m(height, width, CV_8UC1, cv::Scalar(0));
    draw(m, kBlobA, ds, 255);
    draw(m, kBlobB, ds, 255);
    return m;
}

bool run(const QString& program, const QStringList& args) {
    QProcess p;
    p.setProcessChannelMode(QProcess::MergedChannels);
    p.start(program, args);
    if (!p.waitForFinished(300000) || p.exitStatus() != QProcess::NormalExit || p.exitCode() != 0) {
        qWarning("%s failed: %s", qPrintable(program), p.readAll().constData());
        return false;
    }
    return true;
}

// Writes the synthetic slide; empty on failure.
std::string writeSlide(const QString& dir) {
    const cv::Mat ihc = cv::imread(fixtures::path("raster/ihc.png"), cv::IMREAD_COLOR);
    if (ihc.empty()) return {};
    cv::Mat texture;
    cv::copyMakeBorder(ihc, texture, 0, kHeight - ihc.rows, 0, kWidth - ihc.cols,
                       cv::BORDER_REFLECT_101);
    cv::Mat tissue(kHeight, kWidth, CV_8UC1, cv::Scalar(0));
    draw(tissue, kBlobA, 1, 255);
    draw(tissue, kHole, 1, 0);
    draw(tissue, kBlobB, 1, 255);
    for (const cv::Point& p : kSpecks)
        cv::circle(tissue, p, kSpeckRadius, cv::Scalar(255), cv::FILLED);

    cv::Mat slide(kHeight, kWidth, CV_8UC3);
    const cv::Vec3d pink(160, 90, 200);  // BGR
    cv::RNG rng(7);
    for (int y = 0; y < kHeight; ++y)
        for (int x = 0; x < kWidth; ++x) {
            cv::Vec3b& o = slide.at<cv::Vec3b>(y, x);
            if (tissue.at<uchar>(y, x)) {
                const cv::Vec3b t = texture.at<cv::Vec3b>(y, x);
                for (int c = 0; c < 3; ++c)
                    o[c] = cv::saturate_cast<uchar>(0.6 * t[c] + 0.4 * pink[c]);
            } else {
                // Slightly warm, noisy glass: saturation of a few units, as on a real scan.
                const double n = rng.gaussian(2.0);
                o = cv::Vec3b(cv::saturate_cast<uchar>(240 + n + rng.gaussian(1.0)),
                              cv::saturate_cast<uchar>(243 + n + rng.gaussian(1.0)),
                              cv::saturate_cast<uchar>(243 + n + rng.gaussian(1.0)));
            }
        }
    const QString ppm = dir + "/slide.ppm", tif = dir + "/slide.svs";
    if (!cv::imwrite(ppm.toStdString(), slide)) return {};
    // xres/yres in pixels per mm: 2000 = 0.5 µm/px (for readers that take it from the TIFF tags).
    if (!run("vips",
             {"tiffsave", ppm, tif, "--tile", "--pyramid", "--compression", "jpeg", "--tile-width",
              "256", "--tile-height", "256", "--xres", "2000", "--yres", "2000"}))
        return {};
    const QString description = QString(
                                    "Aperio Image Library v12.0.5\n%1x%2 [0,0 %1x%2] (256x256) "
                                    "JPEG/RGB Q=75|AppMag = 20|MPP = 0.5")
                                    .arg(kWidth)
                                    .arg(kHeight);
    if (!run("tiffset", {"-d", "0", "-s", "270", description, tif})) return {};
    return tif.toStdString();
}

double iou(const cv::Mat& a, const cv::Mat& b) {
    cv::Mat i, u;
    cv::bitwise_and(a, b, i);
    cv::bitwise_or(a, b, u);
    return double(cv::countNonZero(i)) / std::max(1, cv::countNonZero(u));
}

cv::Mat maskMat(const TissueMask& t) {
    return cv::Mat(t.height, t.width, CV_8UC1, const_cast<std::uint8_t*>(t.mask.data())).clone();
}

// A 10000 x 8000 slide with levels at downsample 1, 2 and 4.
ImageInfo gridInfo() {
    ImageInfo info;
    info.path = "/slides/case7.svs";
    info.levels = {{10000, 8000, 1}, {5000, 4000, 2}, {2500, 2000, 4}};
    info.mppX = info.mppY = 0.25;
    info.objectivePower = 40;
    return info;
}

PatchGridOptions model(std::optional<double> mpp, std::optional<double> mag, int input = 224,
                       double overlap = 0) {
    PatchGridOptions o;
    o.micronsPerPixel = mpp;
    o.magnification = mag;
    o.inputSize = input;
    o.overlap = overlap;
    return o;
}

using Cell = std::pair<int, int>;  // row, column

std::set<Cell> bruteForce(const PatchGrid& g, double x, double y, double w, double h) {
    std::set<Cell> out;
    for (const Patch& p : g.patches)
        if (p.x < x + w && p.x + p.width > x && p.y < y + h && p.y + p.height > y)
            out.insert({p.row, p.column});
    return out;
}

// Checks patchesInView against the brute force: same set, centre-out order, ties by row, column.
void checkView(const PatchGrid& g, double x, double y, double w, double h, bool complete) {
    const std::vector<Patch> got = patchesInView(g, x, y, w, h);
    std::set<Cell> cells;
    for (const Patch& p : got) cells.insert({p.row, p.column});
    QCOMPARE(cells.size(), got.size());
    QVERIFY2(cells == bruteForce(g, x, y, w, h),
             qPrintable(QString("view %1 %2 %3 %4").arg(x).arg(y).arg(w).arg(h)));
    const double cx = x + w / 2, cy = y + h / 2;
    // Squared, as the ordering's key: mirror-image patches then tie exactly.
    auto d = [&](const Patch& p) {
        const double dx = p.x + p.width / 2 - cx, dy = p.y + p.height / 2 - cy;
        return dx * dx + dy * dy;
    };
    for (std::size_t i = 1; i < got.size(); ++i) {
        QVERIFY(d(got[i - 1]) <= d(got[i]));
        if (d(got[i - 1]) == d(got[i]))
            QVERIFY(std::tuple(got[i - 1].row, got[i - 1].column) <
                    std::tuple(got[i].row, got[i].column));
    }
    // With every patch present, the first holds the view's centre (when that is on the grid).
    const double extentX = (g.columns - 1) * g.stride + g.patchSize;
    const double extentY = (g.rows - 1) * g.stride + g.patchSize;
    if (complete && cx >= 0 && cy >= 0 && cx < extentX && cy < extentY) {
        QVERIFY(!got.empty());
        const Patch& f = got.front();
        QVERIFY(f.x <= cx && cx <= f.x + f.width && f.y <= cy && cy <= f.y + f.height);
    }
}

}  // namespace

class TissueGridTest : public QObject {
    Q_OBJECT

    QTemporaryDir dir_;
    std::string slidePath_;
    std::unique_ptr<ImageSource> slide_;
    TissueMask tissue_;

private slots:
    void initTestCase() {
        QVERIFY(dir_.isValid());
        slidePath_ = writeSlide(dir_.path());
        QVERIFY2(!slidePath_.empty(), "could not write the synthetic slide (fixtures? vips?)");
        slide_ = openImage(slidePath_);
        const ImageInfo& info = slide_->info();
        QCOMPARE(info.width(), kWidth);
        QCOMPARE(info.height(), kHeight);
        QVERIFY(info.levels.size() >= 4);
        QCOMPARE(info.level(1).width, kWidth / 2);
        QVERIFY(info.mppX.has_value());
        QCOMPARE(*info.mppX, 0.5);
        tissue_ = detectTissue(*slide_);
    }

    void thumbnailFromTheLevelAboveMaxSide() {
        // Level 1 (2400 px) is the coarsest reaching 2048: reduced to 2048 x 1365.
        QCOMPARE(tissue_.width, 2048);
        QCOMPARE(tissue_.height, 1365);
        QCOMPARE(tissue_.downsample, double(kWidth) / 2048);
        QCOMPARE(tissue_.mask.size(), std::size_t(2048 * 1365));
        // Glass saturation is a few units, the tinted tissue's tens: the threshold lies between.
        QVERIFY2(tissue_.threshold >= 12 && tissue_.threshold < 45,
                 qPrintable(QString::number(tissue_.threshold)));
    }

    void maskMatchesTheBlobs() {
        const cv::Mat expected = truth(tissue_.width, tissue_.height, tissue_.downsample);
        const double v = iou(maskMat(tissue_), expected);
        QVERIFY2(v >= 0.9, qPrintable(QString("IoU %1").arg(v)));
        qInfo("IoU with the ground truth: %.4f", v);
    }

    void holeIsFilled() {
        const int x = int(kHole.cx / tissue_.downsample), y = int(kHole.cy / tissue_.downsample);
        QVERIFY(tissue_.at(x, y));
        // Every mask pixel of the hole's inner half is tissue.
        const double c =
            tissue_.coverage(kHole.cx - kHole.ax / 2, kHole.cy - kHole.ay / 2, kHole.ax, kHole.ay);
        QCOMPARE(c, 1.0);
    }

    void specksAreDetectedThenDropped() {
        TissueOptions keepAll;
        keepAll.minSpeckArea = 0;
        const TissueMask all = detectTissue(*slide_, keepAll);
        for (const cv::Point& p : kSpecks) {
            const int x = int(p.x / tissue_.downsample), y = int(p.y / tissue_.downsample);
            QVERIFY2(all.at(x, y), "the speck is not seen at all: the test would prove nothing");
            QVERIFY(!tissue_.at(x, y));
        }
        QCOMPARE(all.outlines.size(), std::size_t(2 + kSpecks.size()));
    }

    void outlinesLieOnTheBlobBorders() {
        QCOMPARE(tissue_.outlines.size(), std::size_t(2));
        const cv::Mat expected = truth(tissue_.width, tissue_.height, tissue_.downsample);
        cv::Mat eroded, border, notBorder, distance;
        cv::erode(expected, eroded, cv::Mat());
        cv::subtract(expected, eroded, border);
        cv::bitwise_not(border, notBorder);
        cv::distanceTransform(notBorder, distance, cv::DIST_L2, 3);
        for (const auto& outline : tissue_.outlines) {
            QVERIFY(outline.size() >= 8);
            float worst = 0;
            for (const auto& [x, y] : outline) {
                const int mx = std::clamp(int(std::lround(x / tissue_.downsample - 0.5)), 0,
                                          tissue_.width - 1);
                const int my = std::clamp(int(std::lround(y / tissue_.downsample - 0.5)), 0,
                                          tissue_.height - 1);
                worst = std::max(worst, distance.at<float>(my, mx));
            }
            QVERIFY2(worst <= 3, qPrintable(QString("outline %1 thumbnail px off").arg(worst)));
        }
    }

    void coverageOfRectangles() {
        // Inside blob A (left of the hole), on glass, and off the image.
        QVERIFY(tissue_.coverage(800, 1350, 300, 300) > 0.99);
        QVERIFY(tissue_.coverage(100, 600, 300, 300) < 0.01);
        QCOMPARE(tissue_.coverage(kWidth + 10, 0, 500, 500), 0.0);
        QCOMPARE(tissue_.coverage(100, 100, 0, 50), 0.0);
        // Half a tissue-only square hangs off the image: the outside half is not tissue.
        TissueMask full;
        full.width = 10;
        full.height = 10;
        full.downsample = 4;
        full.mask.assign(100, 255);
        full.updateIntegral();
        QCOMPARE(full.coverage(20, 0, 40, 40), 0.5);
        QCOMPARE(full.coverage(1, 1, 2, 2), 1.0);
    }

    void coverageIntegralMatchesDirectSum() {
        TissueMask direct = tissue_;
        direct.integral.clear();
        std::mt19937 rng(3);
        std::uniform_real_distribution<double> pos(-300, kWidth + 300), len(0.5, 1500);
        for (int i = 0; i < 300; ++i) {
            const double x = pos(rng), y = pos(rng) * kHeight / kWidth, w = len(rng), h = len(rng);
            const double a = tissue_.coverage(x, y, w, h), b = direct.coverage(x, y, w, h);
            QVERIFY2(std::abs(a - b) < 1e-9, qPrintable(QString("%1 vs %2").arg(a).arg(b)));
        }
    }

    void coarserThumbnail() {
        // maxSide 512: level 3 (600 px) is the coarsest that reaches it.
        TissueOptions o;
        o.thumbnailMaxSide = 512;
        const TissueMask small = detectTissue(*slide_, o);
        QCOMPARE(small.width, 512);
        QCOMPARE(small.height, 341);
        const double v = iou(maskMat(small), truth(small.width, small.height, small.downsample));
        QVERIFY2(v >= 0.9, qPrintable(QString("IoU %1").arg(v)));
    }

    void smallImageIsItsOwnThumbnail() {
        const auto src = openImage(fixtures::path("raster/ihc.png"));
        const TissueMask t = detectTissue(*src);
        QCOMPARE(t.width, 512);
        QCOMPARE(t.height, 512);
        QCOMPARE(t.downsample, 1.0);
    }

    void greyImagesAreAllTissue() {
        const auto src = openImage(fixtures::path("raster/grey16.tif"));
        QCOMPARE(src->info().pixelFormat, PixelFormat::Gray16);
        const TissueMask t = detectTissue(*src);
        QVERIFY(t.width > 0 && t.height > 0);
        QVERIFY(std::all_of(t.mask.begin(), t.mask.end(), [](std::uint8_t v) { return v == 255; }));
        QCOMPARE(t.coverage(10, 10, 100, 100), 1.0);
        QCOMPARE(t.outlines.size(), std::size_t(1));
    }

    void gridAtTheModelsScale() {
        // 0.25 µm/px slide, 0.5 µm/px model at 224: 448 level-0 px per patch, stride 224.
        const PatchGrid g = planPatchGrid(gridInfo(), model(0.5, std::nullopt, 224, 0.5));
        QCOMPARE(g.downsample, 2.0);
        QCOMPARE(g.patchSize, 448.0);
        QCOMPARE(g.stride, 224.0);
        QCOMPARE(g.columns, 44);  // 1 + ceil((10000 - 448) / 224)
        QCOMPARE(g.rows, 35);     // 1 + ceil((8000 - 448) / 224)
        QCOMPARE(g.patches.size(), std::size_t(44 * 35));
        const Patch& last = g.patches.back();
        QCOMPARE(last.column, 43);
        QCOMPARE(last.row, 34);
        QCOMPARE(last.x, 43 * 224.0);
        QCOMPARE(last.y, 34 * 224.0);
        QVERIFY(last.x + last.width >= 10000 && last.x - g.stride + last.width < 10000);
        const Patch& p = g.patches[45];  // row-major
        QCOMPARE(p.column, 1);
        QCOMPARE(p.row, 1);
        for (const Patch& q : g.patches) QCOMPARE(q.level, 1);
    }

    void exactFitAddsNoPatch() {
        ImageInfo info = gridInfo();
        info.levels = {{4480, 2240, 1}};
        const PatchGrid g = planPatchGrid(info, model(0.5, std::nullopt, 224, 0.5));
        QCOMPARE(g.columns, 19);
        QCOMPARE(g.rows, 9);
        const PatchGrid one = planPatchGrid(info, model(10.0, std::nullopt));  // side 8960
        QCOMPARE(one.columns, 1);
        QCOMPARE(one.rows, 1);
    }

    void levelNeverUpsamples_data() {
        QTest::addColumn<double>("modelMpp");
        QTest::addColumn<double>("downsample");
        QTest::addColumn<int>("level");
        QTest::newRow("needed 0.5") << 0.125 << 0.5 << 0;
        QTest::newRow("needed 1") << 0.25 << 1.0 << 0;
        QTest::newRow("needed 2") << 0.5 << 2.0 << 1;
        QTest::newRow("needed 3") << 0.75 << 3.0 << 1;
        QTest::newRow("needed 4") << 1.0 << 4.0 << 2;
        QTest::newRow("needed 8") << 2.0 << 8.0 << 2;
    }
    void levelNeverUpsamples() {
        QFETCH(double, modelMpp);
        QFETCH(double, downsample);
        QFETCH(int, level);
        const PatchGrid g = planPatchGrid(gridInfo(), model(modelMpp, std::nullopt));
        QCOMPARE(g.downsample, downsample);
        QCOMPARE(g.patchSize, 224 * downsample);
        QVERIFY(!g.patches.empty());
        for (const Patch& p : g.patches) QCOMPARE(p.level, level);
    }

    void magnificationFallback() {
        ImageInfo noMpp = gridInfo();
        noMpp.mppX.reset();
        noMpp.mppY.reset();
        // The model gives both; the slide only its objective power (40x): 40 / 20 = 2.
        QCOMPARE(planPatchGrid(noMpp, model(0.5, 20.0)).downsample, 2.0);
        QCOMPARE(planPatchGrid(noMpp, model(std::nullopt, 10.0)).downsample, 4.0);
        // Where both sides have µm/px it wins over the nominal magnification.
        QCOMPARE(planPatchGrid(gridInfo(), model(0.5, 10.0)).downsample, 2.0);
        // A model without a scale reads level 0 as it is.
        const PatchGrid plain = planPatchGrid(noMpp, model(std::nullopt, std::nullopt, 256));
        QCOMPARE(plain.downsample, 1.0);
        QCOMPARE(plain.patchSize, 256.0);
        QCOMPARE(plain.patches.front().level, 0);
    }

    void missingResolutionIsAnError() {
        ImageInfo info = gridInfo();
        info.mppX.reset();
        info.mppY.reset();
        info.objectivePower.reset();
        try {
            planPatchGrid(info, model(0.5, 20.0));
            QFAIL("no exception");
        } catch (const std::invalid_argument& e) {
            const QString what = e.what();
            QVERIFY2(what.contains("/slides/case7.svs"), qPrintable(what));
            QVERIFY2(what.contains("no resolution"), qPrintable(what));
        }
        ImageInfo powerOnly = gridInfo();
        powerOnly.mppX.reset();
        powerOnly.mppY.reset();
        // µm/px asked, no magnification to fall back on.
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                                 planPatchGrid(powerOnly, model(0.5, std::nullopt)));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                                 planPatchGrid(gridInfo(), model(0.5, std::nullopt, 224, 0.9)));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                                 planPatchGrid(gridInfo(), model(0.5, std::nullopt, 0)));
    }

    void tissueFilterAgainstTheTruth() {
        // The slide's own 0.5 µm/px and a 0.5 µm/px model: 224 level-0 px, stride 112.
        PatchGridOptions o = model(0.5, std::nullopt, 224, 0.5);
        const PatchGrid all = planPatchGrid(slide_->info(), o);
        const PatchGrid kept = planPatchGrid(slide_->info(), o, &tissue_);
        QCOMPARE(all.columns, 42);
        QCOMPARE(all.rows, 28);
        QCOMPARE(kept.columns, all.columns);
        QVERIFY(!kept.patches.empty() && kept.patches.size() < all.patches.size());
        cv::Mat integral;
        cv::integral(truth(kWidth, kHeight, 1) / 255, integral, CV_64F);
        auto truthCoverage = [&](const Patch& p) {
            const int x0 = int(p.x), y0 = int(p.y);
            const int x1 = std::min(kWidth, int(p.x + p.width)),
                      y1 = std::min(kHeight, int(p.y + p.height));
            const double s = integral.at<double>(y1, x1) - integral.at<double>(y0, x1) -
                             integral.at<double>(y1, x0) + integral.at<double>(y0, x0);
            return s / (p.width * p.height);
        };
        std::set<Cell> keptCells;
        for (const Patch& p : kept.patches) keptCells.insert({p.row, p.column});
        int clear = 0;
        for (const Patch& p : all.patches) {
            const double t = truthCoverage(p);
            const bool isKept = keptCells.count({p.row, p.column}) > 0;
            QCOMPARE(isKept, tissue_.coverage(p.x, p.y, p.width, p.height) >= o.minTissue);
            if (t >= 0.35) QVERIFY2(isKept, qPrintable(QString("truth %1").arg(t)));
            if (t <= 0.15) QVERIFY2(!isKept, qPrintable(QString("truth %1").arg(t)));
            clear += t >= 0.35 || t <= 0.15;
        }
        QVERIFY(clear > int(all.patches.size()) * 9 / 10);
        for (const Patch& p : kept.patches) QCOMPARE(p.level, 0);
    }

    void patchesInViewFromTheCentreOut() {
        const PatchGrid full = planPatchGrid(gridInfo(), model(0.5, std::nullopt, 224, 0.5));
        const PatchGrid noOverlap = planPatchGrid(gridInfo(), model(0.5, std::nullopt));
        const PatchGrid sparse =
            planPatchGrid(slide_->info(), model(0.5, std::nullopt, 224, 0.25), &tissue_);
        // The first holds the centre: (5000, 4000) is in the patch at column 21, row 17 (side 448,
        // stride 224: origins 4704 and 3808; nearest centres 4928 and 4032).
        const auto first = patchesInView(full, 4000, 3000, 2000, 2000);
        QCOMPARE(first.front().column, 21);
        QCOMPARE(first.front().row, 17);
        std::mt19937 rng(11);
        std::uniform_real_distribution<double> pos(-1500, 11000), len(1, 4000);
        for (int i = 0; i < 200; ++i) {
            const double x = pos(rng), y = pos(rng), w = len(rng), h = len(rng);
            checkView(full, x, y, w, h, true);
            checkView(noOverlap, x, y, w, h, true);
            checkView(sparse, x / 2, y / 2, w / 2, h / 2, false);
        }
        // Views on exact patch edges: a patch that only touches the view is not in it.
        checkView(noOverlap, 448, 448, 448, 448, true);
        QCOMPARE(patchesInView(noOverlap, 448, 448, 448, 448).size(), std::size_t(1));
        checkView(full, 0, 0, 10000, 8000, true);
        QCOMPARE(patchesInView(full, 0, 0, 10000, 8000).size(), full.patches.size());
        QVERIFY(patchesInView(full, 20000, 0, 100, 100).empty());
        QVERIFY(patchesInView(full, 100, 100, 0, 100).empty());
    }
};

QTEST_GUILESS_MAIN(TissueGridTest)
#include "tissue_grid_test.moc"
