// The torch-free training data pipeline: image-folder scanning (with real broken files), the
// stratified split, augmentations (checked against OpenCV's own flip/rotate/resize), the batch
// loader (order, determinism, normalisation, failures, abandoning an epoch) and the validation
// metrics, compared with scikit-learn on cases written by
// tests/reference/make_metrics_reference.py.
#include "image/FileError.h"
#include "train/Augment.h"
#include "train/BatchLoader.h"
#include "train/ImageFolder.h"
#include "train/Metrics.h"

#include <QElapsedTimer>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

using namespace lucida;
namespace fs = std::filesystem;

namespace {

void writeImage(const std::string& path, const cv::Mat& image) {
    fs::create_directories(fs::path(path).parent_path());
    QVERIFY2(cv::imwrite(path, image), path.c_str());
}

void writeBytes(const std::string& path, const std::string& bytes) {
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path, std::ios::binary) << bytes;
}

// A PNG cut in half: the header is fine, the data stops.
void writeTruncatedPng(const std::string& path, const cv::Mat& image) {
    std::vector<std::uint8_t> png;
    cv::imencode(".png", image, png);
    writeBytes(path, std::string(png.begin(), png.begin() + std::ptrdiff_t(png.size() / 2)));
}

cv::Mat randomImage(int w, int h, std::uint64_t seed, int type = CV_8UC3) {
    cv::Mat m(h, w, type);
    cv::RNG rng(seed);
    rng.fill(m, cv::RNG::UNIFORM, 0, type == CV_16UC1 ? 65536 : 256);
    return m;
}

int maxDifference(const cv::Mat& a, const cv::Mat& b) {
    if (a.size() != b.size() || a.type() != b.type()) return -1;
    return static_cast<int>(cv::norm(a, b, cv::NORM_INF));
}

bool same(const cv::Mat& a, const cv::Mat& b) { return maxDifference(a, b) == 0; }

// The message of the std::runtime_error `f` throws; empty when it throws none.
template <class F>
std::string errorOf(F f) {
    try {
        f();
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    return {};
}

std::vector<std::string> pathsOf(const std::vector<LabelledImage>& images) {
    std::vector<std::string> out;
    for (const auto& i : images) out.push_back(i.path);
    return out;
}

}  // namespace

class TrainDataTest : public QObject {
    Q_OBJECT

    QTemporaryDir tmp_;
    nlohmann::json reference_;

    std::string dir(const std::string& name) const {
        return tmp_.path().toStdString() + "/" + name;
    }

private slots:
    void initTestCase() {
        QVERIFY(tmp_.isValid());
        // scikit-learn's answers, made now (a second of Python); no Python means a failure.
        const QString script =
            QString(LUCIDA_SOURCE_DIR) + "/tests/reference/make_metrics_reference.py";
        QProcess python;
        python.setProcessChannelMode(QProcess::MergedChannels);
        python.start("/usr/bin/python3", {script, tmp_.path()});
        QVERIFY2(python.waitForStarted(), "cannot start /usr/bin/python3");
        QVERIFY2(python.waitForFinished(120000), "make_metrics_reference.py did not finish");
        const QByteArray output = python.readAll();
        QVERIFY2(python.exitStatus() == QProcess::NormalExit && python.exitCode() == 0,
                 output.constData());
        std::ifstream in(dir("metrics_reference.json"));
        QVERIFY(in.good());
        reference_ = nlohmann::json::parse(in);
        QVERIFY(reference_["cases"].size() >= 5);
    }

    // ---- ImageFolder ------------------------------------------------------------------------

    void scanFindsReadableImagesAndSkipsTheRest() {
        const std::string root = dir("scan");
        const cv::Mat colour = randomImage(20, 16, 1);
        writeImage(root + "/benign/a.png", colour);
        writeImage(root + "/benign/b_grey.png", randomImage(12, 9, 2, CV_8UC1));
        writeImage(root + "/benign/c_16bit.png", randomImage(10, 10, 3, CV_16UC1));
        writeTruncatedPng(root + "/benign/corrupt.png", randomImage(64, 64, 4));
        writeBytes(root + "/benign/empty.png", "");
        writeBytes(root + "/benign/notes.txt", "not an image\n");
        writeImage(root + "/benign/.hidden.png", colour);  // ignored, as torchvision does
        writeImage(root + "/malignant/d.png", colour);
        writeImage(root + "/malignant/e.jpg", colour);
        writeImage(root + "/malignant/nested/f.png", colour);  // only direct files count
        writeImage(root + "/.thumbnails/g.png", colour);       // hidden: not a class
        writeBytes(root + "/README.txt", "a stray file beside the classes\n");

        const ImageFolder folder = scanImageFolder(root);
        QCOMPARE(folder.classes, (std::vector<std::string>{"benign", "malignant"}));
        const std::vector<std::string> expectedPaths = {
            root + "/benign/a.png", root + "/benign/b_grey.png", root + "/benign/c_16bit.png",
            root + "/malignant/d.png", root + "/malignant/e.jpg"};
        QCOMPARE(pathsOf(folder.images), expectedPaths);
        std::vector<int> labels;
        for (const auto& i : folder.images) labels.push_back(i.label);
        QCOMPARE(labels, (std::vector<int>{0, 0, 0, 1, 1}));
        QCOMPARE(folder.countsPerClass(), (std::vector<int>{3, 2}));

        QCOMPARE(folder.skipped.size(), std::size_t{3});
        QCOMPARE(folder.skipped[0].path, root + "/benign/corrupt.png");
        QCOMPARE(folder.skipped[0].reason,
                 std::string("PNG file ends before its IEND chunk (truncated)"));
        QCOMPARE(folder.skipped[1].path, root + "/benign/empty.png");
        QCOMPARE(folder.skipped[1].reason, std::string("file is empty"));
        QCOMPARE(folder.skipped[2].path, root + "/benign/notes.txt");
        QCOMPARE(folder.skipped[2].reason, std::string("unrecognised or unsupported image format"));
    }

    void scanSortsClassesLikeTorchvision() {
        const std::string root = dir("sorted");
        for (const char* c : {"tumour", "Normal", "stroma", "adipose"})
            for (const char* f : {"z.png", "a.png", "m.png"})
                writeImage(root + "/" + c + "/" + f, randomImage(5, 5, 9));
        const ImageFolder folder = scanImageFolder(root);
        // Byte order, as Python's sorted(): capitals first.
        QCOMPARE(folder.classes,
                 (std::vector<std::string>{"Normal", "adipose", "stroma", "tumour"}));
        QCOMPARE(folder.images.size(), std::size_t{12});
        QCOMPARE(folder.images[3].path, root + "/adipose/a.png");
        QCOMPARE(folder.images[3].label, 1);
        QCOMPARE(folder.images[5].path, root + "/adipose/z.png");
        QCOMPARE(folder.countsPerClass(), (std::vector<int>{3, 3, 3, 3}));
    }

    void scanErrorsNameTheFolder() {
        const std::string missing = dir("no-such-folder");
        std::string e = errorOf([&] { scanImageFolder(missing); });
        QVERIFY2(e.find("'" + missing + "' does not exist") != std::string::npos, e.c_str());

        const std::string flat = dir("flat");
        writeImage(flat + "/a.png", randomImage(4, 4, 1));
        e = errorOf([&] { scanImageFolder(flat); });
        QVERIFY2(e.find("'" + flat + "' has no class sub-folders") != std::string::npos, e.c_str());

        const std::string single = dir("single");
        writeImage(single + "/only/a.png", randomImage(4, 4, 1));
        e = errorOf([&] { scanImageFolder(single); });
        QVERIFY2(e.find("'" + single + "'") != std::string::npos, e.c_str());
        QVERIFY2(e.find("'only'") != std::string::npos, e.c_str());
        QVERIFY2(e.find("needs at least two classes") != std::string::npos, e.c_str());

        // One class folder empty, another holding only an unreadable file: the first is named.
        const std::string hollow = dir("hollow");
        writeImage(hollow + "/good/a.png", randomImage(4, 4, 1));
        fs::create_directories(hollow + "/empty");
        writeBytes(hollow + "/zbroken/x.png", "junk");
        e = errorOf([&] { scanImageFolder(hollow); });
        QCOMPARE(e, "class folder '" + hollow + "/empty' has no readable image");
        fs::remove(hollow + "/empty");
        e = errorOf([&] { scanImageFolder(hollow); });
        QCOMPARE(e, "class folder '" + hollow + "/zbroken' has no readable image");
    }

    void validationFolderNeedsTheTrainingClasses() {
        const std::string root = dir("validation");
        writeImage(root + "/b/1.png", randomImage(4, 4, 1));
        writeImage(root + "/a/1.png", randomImage(4, 4, 2));
        writeImage(root + "/a/2.png", randomImage(4, 4, 3));
        // Labels follow the classes given (the training set's), whatever their order.
        const ImageFolder v = scanValidationFolder(root, {"b", "a"});
        QCOMPARE(v.classes, (std::vector<std::string>{"b", "a"}));
        QCOMPARE(pathsOf(v.images), (std::vector<std::string>{root + "/b/1.png", root + "/a/1.png",
                                                              root + "/a/2.png"}));
        QCOMPARE(v.countsPerClass(), (std::vector<int>{1, 2}));

        std::string e = errorOf([&] { scanValidationFolder(root, {"a", "b", "c"}); });
        QVERIFY2(e.find("'" + root + "'") != std::string::npos, e.c_str());
        QVERIFY2(e.find("missing: 'c'") != std::string::npos, e.c_str());
        e = errorOf([&] { scanValidationFolder(root, {"a"}); });
        QVERIFY2(e.find("not in the training data: 'b'") != std::string::npos, e.c_str());
        e = errorOf([&] { scanValidationFolder(dir("nowhere"), {"a", "b"}); });
        QVERIFY2(e.find("does not exist") != std::string::npos, e.c_str());
    }

    // ---- splitStratified ---------------------------------------------------------------------

    void splitIsStratifiedAndDeterministic() {
        // Class sizes 10, 5, 1, 2 at 20 %: 2, 1, 0 (one image stays for training), 1 (at least
        // one when there are two).
        std::vector<LabelledImage> images;
        const int sizes[] = {10, 5, 1, 2};
        for (int c = 0; c < 4; ++c)
            for (int i = 0; i < sizes[c]; ++i)
                images.push_back(
                    {"c" + std::to_string(c) + "/" + std::to_string(100 + i) + ".png", c});
        std::vector<LabelledImage> shuffled = images;
        std::reverse(shuffled.begin(), shuffled.end());
        std::rotate(shuffled.begin(), shuffled.begin() + 7, shuffled.end());

        const Split a = splitStratified(images, 4, 0.2, 7);
        std::vector<int> perClass(4, 0);
        for (const auto& i : a.validation) ++perClass[std::size_t(i.label)];
        QCOMPARE(perClass, (std::vector<int>{2, 1, 0, 1}));
        QCOMPARE(a.train.size() + a.validation.size(), images.size());

        const std::vector<std::string> trainPaths = pathsOf(a.train), inputPaths = pathsOf(images);
        const std::set<std::string> train(trainPaths.begin(), trainPaths.end());
        std::set<std::string> all = train;
        for (const auto& p : pathsOf(a.validation)) {
            QVERIFY2(!train.count(p), p.c_str());  // no overlap
            all.insert(p);
        }
        QCOMPARE(all, std::set<std::string>(inputPaths.begin(), inputPaths.end()));
        // Labels travel with their paths.
        for (const auto& i : a.validation) QCOMPARE(i.path.substr(1, 1), std::to_string(i.label));

        // Same seed, any input order: the same split.
        const Split b = splitStratified(shuffled, 4, 0.2, 7);
        QCOMPARE(pathsOf(b.validation), pathsOf(a.validation));
        QCOMPARE(pathsOf(b.train), pathsOf(a.train));
        // Another seed: another choice, same counts.
        const Split c = splitStratified(images, 4, 0.2, 8);
        QVERIFY(pathsOf(c.validation) != pathsOf(a.validation));
        QCOMPARE(c.validation.size(), a.validation.size());

        QVERIFY(splitStratified(images, 4, 0.0, 7).validation.empty());
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, splitStratified(images, 4, 1.0, 7));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, splitStratified(images, 3, 0.2, 7));
    }

    // ---- Augment -----------------------------------------------------------------------------

    void augmentOffIsAPlainResize() {
        const cv::Mat image = randomImage(37, 29, 11);
        std::mt19937_64 rng(1);
        cv::Mat expected;
        cv::resize(image, expected, cv::Size(16, 12), 0, 0, cv::INTER_AREA);  // shrinking
        QVERIFY(same(augmentImage(image, {}, 16, 12, rng), expected));
        QVERIFY(same(resizeForTraining(image, 16, 12), expected));
        cv::resize(image, expected, cv::Size(50, 40), 0, 0, cv::INTER_LINEAR);  // growing
        QVERIFY(same(augmentImage(image, {}, 50, 40, rng), expected));
        QVERIFY(same(augmentImage(image, {}, 37, 29, rng), image));
    }

    void flipsAndRotationsAreExact() {
        const cv::Mat image = randomImage(7, 7, 12);  // random: no symmetry
        const auto variants = [&](const AugmentOptions& o, const std::vector<cv::Mat>& allowed) {
            std::vector<int> seen(allowed.size(), 0);
            for (std::uint64_t seed = 0; seed < 64; ++seed) {
                std::mt19937_64 rng(seed);
                const cv::Mat out = augmentImage(image, o, 7, 7, rng);
                const auto it = std::find_if(allowed.begin(), allowed.end(),
                                             [&](const cv::Mat& m) { return same(out, m); });
                if (it == allowed.end()) return false;
                ++seen[std::size_t(it - allowed.begin())];
            }
            return std::all_of(seen.begin(), seen.end(), [](int n) { return n > 0; });
        };
        cv::Mat h, v, hv, r90, r180, r270;
        cv::flip(image, h, 1);
        cv::flip(image, v, 0);
        cv::flip(image, hv, -1);
        cv::rotate(image, r90, cv::ROTATE_90_CLOCKWISE);
        cv::rotate(image, r180, cv::ROTATE_180);
        cv::rotate(image, r270, cv::ROTATE_90_COUNTERCLOCKWISE);
        AugmentOptions o;
        o.horizontalFlip = true;
        QVERIFY(variants(o, {image, h}));
        o = {};
        o.verticalFlip = true;
        QVERIFY(variants(o, {image, v}));
        o.horizontalFlip = true;
        QVERIFY(variants(o, {image, h, v, hv}));
        o = {};
        o.rotate90 = true;
        QVERIFY(variants(o, {image, r90, r180, r270}));

        // Not square: a quarter turn still gives the asked size.
        const cv::Mat wide = randomImage(9, 5, 13);
        for (std::uint64_t seed = 0; seed < 16; ++seed) {
            std::mt19937_64 rng(seed);
            const cv::Mat out = augmentImage(wide, o, 9, 5, rng);
            QCOMPARE(out.cols, 9);
            QCOMPARE(out.rows, 5);
        }
    }

    void cropGivesTheOutputSizeAndVaries() {
        const cv::Mat image = randomImage(100, 80, 14);
        AugmentOptions o;
        o.cropScaleMin = 0.08;
        std::set<std::vector<std::uint8_t>> distinct;
        for (std::uint64_t seed = 0; seed < 20; ++seed) {
            std::mt19937_64 rng(seed);
            const cv::Mat out = augmentImage(image, o, 32, 24, rng);
            QCOMPARE(out.cols, 32);
            QCOMPARE(out.rows, 24);
            QCOMPARE(out.type(), CV_8UC3);
            distinct.insert(std::vector<std::uint8_t>(out.datastart, out.dataend));
        }
        QVERIFY(distinct.size() >= 18);
        // Same rng state, same result.
        std::mt19937_64 r1(5), r2(5);
        o.horizontalFlip = o.rotate90 = true;
        o.brightness = o.contrast = o.saturation = 0.3;
        o.hue = 0.1;
        o.heSigma = o.heBias = 0.05;
        QVERIFY(same(augmentImage(image, o, 32, 24, r1), augmentImage(image, o, 32, 24, r2)));
    }

    void colourJitterKeepsGreyGreyAndScalesBrightness() {
        // Saturation and hue do nothing to grey pixels.
        const cv::Mat grey(10, 10, CV_8UC3, cv::Scalar(77, 77, 77));
        AugmentOptions o;
        o.saturation = 0.9;
        o.hue = 0.5;
        for (std::uint64_t seed = 0; seed < 8; ++seed) {
            std::mt19937_64 rng(seed);
            QVERIFY(maxDifference(augmentImage(grey, o, 10, 10, rng), grey) <= 1);
        }
        // Brightness multiplies every pixel by one factor in [0.5, 1.5].
        o = {};
        o.brightness = 0.5;
        const cv::Mat mid(10, 10, CV_8UC3, cv::Scalar(100, 60, 20));
        std::set<int> values;
        for (std::uint64_t seed = 0; seed < 8; ++seed) {
            std::mt19937_64 rng(seed);
            const cv::Mat out = augmentImage(mid, o, 10, 10, rng);
            const cv::Vec3b p = out.at<cv::Vec3b>(3, 4);
            const double f = p[0] / 100.0;
            QVERIFY(f >= 0.5 - 0.01 && f <= 1.5 + 0.01);
            QVERIFY(std::abs(p[1] - 60 * f) <= 1.0);
            QVERIFY(std::abs(p[2] - 20 * f) <= 1.0);
            QVERIFY(same(out, cv::Mat(10, 10, CV_8UC3, cv::Scalar(p[0], p[1], p[2]))));
            values.insert(p[0]);
        }
        QVERIFY(values.size() > 4);
    }

    void stainJitterWithoutChangeIsIdentity() {
        cv::Mat image = randomImage(64, 48, 15);
        image.at<cv::Vec3b>(0, 0) = {0, 0, 0};
        image.at<cv::Vec3b>(0, 1) = {255, 255, 255};
        cv::Mat copy = image.clone();
        jitterHedStains(copy, {1, 1, 1}, {0, 0, 0});
        QVERIFY2(maxDifference(copy, image) <= 1,
                 qPrintable(QString::number(maxDifference(copy, image))));
        // Through augmentImage with a vanishing sigma (the path taken when training).
        AugmentOptions o;
        o.heSigma = 1e-9;
        std::mt19937_64 rng(3);
        QVERIFY(maxDifference(augmentImage(image, o, 64, 48, rng), image) <= 1);

        // More haematoxylin darkens a purple pixel, mostly in red (haematoxylin absorbs red).
        cv::Mat purple(1, 1, CV_8UC3, cv::Scalar(120, 60, 160));  // RGB
        jitterHedStains(purple, {1.5, 1, 1}, {0, 0, 0});
        const cv::Vec3b p = purple.at<cv::Vec3b>(0, 0);
        QVERIFY(p[0] < 120 && p[1] < 60);
        QVERIFY(120 - p[0] > 160 - p[2]);
    }

    // ---- loadTrainingImage -------------------------------------------------------------------

    void loadTrainingImageGivesRgb() {
        const std::string root = dir("load");
        cv::Mat bgr(2, 2, CV_8UC3, cv::Scalar(10, 20, 30));  // B, G, R
        writeImage(root + "/colour.png", bgr);
        cv::Mat rgb = loadTrainingImage(root + "/colour.png", 2, 2);
        QCOMPARE(rgb.type(), CV_8UC3);
        QCOMPARE(rgb.at<cv::Vec3b>(1, 1), cv::Vec3b(30, 20, 10));

        cv::Mat grey8(3, 2, CV_8UC1, cv::Scalar(90));
        writeImage(root + "/grey.png", grey8);
        rgb = loadTrainingImage(root + "/grey.png", 2, 2);
        QCOMPARE(rgb.type(), CV_8UC3);
        QCOMPARE(rgb.size(), cv::Size(2, 3));
        QCOMPARE(rgb.at<cv::Vec3b>(2, 1), cv::Vec3b(90, 90, 90));

        // 16-bit grey through its min-max window: 1000 -> black, 3000 -> white.
        cv::Mat grey16(2, 2, CV_16UC1, cv::Scalar(1000));
        grey16.at<std::uint16_t>(0, 1) = 3000;
        writeImage(root + "/grey16.png", grey16);
        rgb = loadTrainingImage(root + "/grey16.png", 2, 2);
        QCOMPARE(rgb.type(), CV_8UC3);
        QCOMPARE(rgb.at<cv::Vec3b>(0, 0), cv::Vec3b(0, 0, 0));
        QCOMPARE(rgb.at<cv::Vec3b>(0, 1), cv::Vec3b(255, 255, 255));

        try {
            loadTrainingImage(root + "/missing.png", 2, 2);
            QFAIL("no exception for a missing file");
        } catch (const FileError& e) {
            QCOMPARE(e.path(), root + "/missing.png");
            QCOMPARE(e.reason(), std::string("no such file or folder"));
        }
    }

    // ---- BatchLoader -------------------------------------------------------------------------

    void loaderServesEveryImageOncePerEpoch() {
        // 23 plain images, each with its own red value, so a tensor row tells which image it is.
        const std::string root = dir("loader");
        std::vector<LabelledImage> images;
        std::map<std::string, int> red;
        for (int i = 0; i < 23; ++i) {
            const std::string path = root + "/img" + std::to_string(i) + ".png";
            const int r = 3 + 11 * i;
            writeImage(path, cv::Mat(8, 10, CV_8UC3, cv::Scalar(40, 200 - i, r)));
            images.push_back({path, i % 3});
            red[path] = r;
        }
        ModelSpec spec;
        spec.inputWidth = 8;  // shrinking: area resize of a plain image keeps its colour
        spec.inputHeight = 6;
        BatchLoaderOptions options;
        options.batchSize = 5;
        options.threads = 2;
        options.prefetchBatches = 2;
        options.seed = 99;

        // Checks each batch's contents against its paths; returns the epoch's order.
        const auto epochOrder = [&](BatchLoader& loader, int epoch) {
            loader.startEpoch(epoch);
            std::vector<std::string> order;
            std::vector<std::size_t> sizes;
            while (auto batch = loader.next()) {
                sizes.push_back(batch->paths.size());
                [&] {
                    QCOMPARE(batch->images.shape, (std::vector<std::int64_t>{
                                                      std::int64_t(batch->paths.size()), 3, 6, 8}));
                    QCOMPARE(batch->labels.size(), batch->paths.size());
                    QVERIFY(batch->failed.empty());
                    const std::size_t plane = 6 * 8;
                    for (std::size_t j = 0; j < batch->paths.size(); ++j) {
                        const std::string& p = batch->paths[j];
                        const float v = batch->images.data[j * 3 * plane + 17];  // red, (2, 1)
                        const int r = int(std::lround((v * spec.std[0] + spec.mean[0]) * 255));
                        QCOMPARE(r, red.at(p));
                        QCOMPARE(batch->labels[j], std::stoi(p.substr(p.rfind("img") + 3)) % 3);
                    }
                }();
                order.insert(order.end(), batch->paths.begin(), batch->paths.end());
            }
            [&] { QCOMPARE(sizes, (std::vector<std::size_t>{5, 5, 5, 5, 3})); }();
            return order;
        };

        BatchLoader loader(images, spec, options);
        QCOMPARE(loader.size(), std::size_t{23});
        QCOMPARE(loader.batchCount(), std::size_t{5});
        const std::vector<std::string> e0 = epochOrder(loader, 0);
        std::vector<std::string> sorted = e0;
        std::sort(sorted.begin(), sorted.end());
        std::vector<std::string> expected = pathsOf(images);
        std::sort(expected.begin(), expected.end());
        QCOMPARE(sorted, expected);      // each exactly once
        QVERIFY(e0 != pathsOf(images));  // shuffled

        QCOMPARE(epochOrder(loader, 0), e0);  // same epoch again: same order
        const std::vector<std::string> e1 = epochOrder(loader, 1);
        QVERIFY(e1 != e0);
        sorted = e1;
        std::sort(sorted.begin(), sorted.end());
        QCOMPARE(sorted, expected);
        QVERIFY(!loader.next());  // stays at the end

        // Another loader, one thread: the same orders (nothing depends on scheduling).
        options.threads = 1;
        BatchLoader single(images, spec, options);
        QCOMPARE(epochOrder(single, 1), e1);
        // No shuffle: the input order.
        options.shuffle = false;
        BatchLoader plain(images, spec, options);
        QCOMPARE(epochOrder(plain, 3), pathsOf(images));
    }

    void loaderNormalisesWithTheSpec() {
        const std::string root = dir("normalise");
        cv::Mat rgb(4, 6, CV_8UC3);
        for (int y = 0; y < 4; ++y)
            for (int x = 0; x < 6; ++x)
                rgb.at<cv::Vec3b>(y, x) = cv::Vec3b(
                    std::uint8_t(40 * x + y), std::uint8_t(250 - 9 * y), std::uint8_t(x * y * 7));
        cv::Mat bgr;
        cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
        writeImage(root + "/gradient.png", bgr);
        ModelSpec spec;
        spec.inputWidth = 6;
        spec.inputHeight = 4;
        spec.mean = {0.5f, 0.4f, 0.3f};
        spec.std = {0.2f, 0.25f, 0.3f};
        BatchLoaderOptions options;
        options.batchSize = 4;
        BatchLoader loader({{root + "/gradient.png", 1}}, spec, options);
        loader.startEpoch(0);
        const auto batch = loader.next();
        QVERIFY(batch);
        QCOMPARE(batch->images.shape, (std::vector<std::int64_t>{1, 3, 4, 6}));
        QCOMPARE(batch->labels, std::vector<int>{1});
        for (int c = 0; c < 3; ++c)
            for (int y = 0; y < 4; ++y)
                for (int x = 0; x < 6; ++x) {
                    const double value = rgb.at<cv::Vec3b>(y, x)[c];
                    const double expected =
                        (value / 255.0 - spec.mean[std::size_t(c)]) / spec.std[std::size_t(c)];
                    const float got = batch->images.data[std::size_t((c * 4 + y) * 6 + x)];
                    QVERIFY2(std::abs(got - expected) < 1e-5,
                             qPrintable(QString("c%1 (%2,%3): %4 vs %5")
                                            .arg(c)
                                            .arg(x)
                                            .arg(y)
                                            .arg(got)
                                            .arg(expected)));
                }
        QVERIFY(!loader.next());
    }

    void loaderReportsFailedImages() {
        const std::string root = dir("failing");
        std::vector<LabelledImage> images;
        for (int i = 0; i < 6; ++i) {
            const std::string path = root + "/" + std::to_string(i) + ".png";
            if (i == 2)
                writeTruncatedPng(path, randomImage(64, 64, 5));
            else
                writeImage(path, cv::Mat(5, 5, CV_8UC3, cv::Scalar(0, 0, 10 * i)));
            images.push_back({path, i % 2});
        }
        images.push_back({root + "/gone.png", 0});
        ModelSpec spec;
        spec.inputWidth = spec.inputHeight = 5;
        spec.mean = {0, 0, 0};
        spec.std = {1, 1, 1};
        BatchLoaderOptions options;
        options.batchSize = 4;
        options.shuffle = false;
        BatchLoader loader(images, spec, options);
        loader.startEpoch(0);

        auto first = loader.next();
        QVERIFY(first);
        QCOMPARE(first->paths,
                 (std::vector<std::string>{images[0].path, images[1].path, images[3].path}));
        QCOMPARE(first->labels, (std::vector<int>{0, 1, 1}));
        QCOMPARE(first->images.shape, (std::vector<std::int64_t>{3, 3, 5, 5}));
        // The gap is closed: image 3's red plane follows image 1's planes.
        QCOMPARE(first->images.data[2 * 75 + 12], 30 / 255.0f);
        QCOMPARE(first->failed.size(), std::size_t{1});
        QCOMPARE(first->failed[0].path, images[2].path);
        QCOMPARE(first->failed[0].reason,
                 std::string("PNG file ends before its IEND chunk (truncated)"));

        auto second = loader.next();
        QVERIFY(second);
        QCOMPARE(second->paths, (std::vector<std::string>{images[4].path, images[5].path}));
        QCOMPARE(second->failed.size(), std::size_t{1});
        QCOMPARE(second->failed[0].path, root + "/gone.png");
        QCOMPARE(second->failed[0].reason, std::string("no such file or folder"));
        QVERIFY(!loader.next());
    }

    void augmentedBatchesDoNotDependOnThreads() {
        const std::string root = dir("augmented");
        std::vector<LabelledImage> images;
        for (int i = 0; i < 12; ++i) {
            images.push_back({root + "/" + std::to_string(i) + ".png", i % 2});
            writeImage(images.back().path, randomImage(40, 30, 100 + std::uint64_t(i)));
        }
        ModelSpec spec;
        spec.inputWidth = spec.inputHeight = 24;
        BatchLoaderOptions options;
        options.batchSize = 5;
        options.augment = true;
        options.augmentation.horizontalFlip = options.augmentation.rotate90 = true;
        options.augmentation.cropScaleMin = 0.5;
        options.augmentation.brightness = options.augmentation.hue = 0.2;
        options.augmentation.heSigma = 0.05;
        options.seed = 3;
        const auto run = [&](int threads, int epoch) {
            options.threads = threads;
            BatchLoader loader(images, spec, options);
            loader.startEpoch(epoch);
            std::vector<float> all;
            while (auto b = loader.next())
                all.insert(all.end(), b->images.data.begin(), b->images.data.end());
            return all;
        };
        const std::vector<float> one = run(1, 0);
        QCOMPARE(one.size(), std::size_t{12 * 3 * 24 * 24});
        QVERIFY(run(3, 0) == one);
        QVERIFY(run(2, 1) != one);  // next epoch: other order and augmentations
    }

    void loaderAbandonsEpochsAndClosesMidEpoch() {
        const std::string root = dir("big");
        std::vector<LabelledImage> images;
        for (int i = 0; i < 48; ++i) {
            images.push_back({root + "/" + std::to_string(i) + ".png", i % 2});
            writeImage(images.back().path, randomImage(192, 160, 200 + std::uint64_t(i)));
        }
        ModelSpec spec;
        spec.inputWidth = spec.inputHeight = 64;
        BatchLoaderOptions options;
        options.batchSize = 4;
        options.threads = 2;
        options.prefetchBatches = 3;
        options.augment = true;
        options.augmentation.cropScaleMin = 0.3;
        options.augmentation.heSigma = 0.05;

        auto loader = std::make_unique<BatchLoader>(images, spec, options);
        loader->startEpoch(0);
        QCOMPARE(loader->waitMicroseconds(), 0LL);
        QVERIFY(loader->next());
        // The wait is counted: right after a new epoch the first batch is usually not decoded
        // yet. Usually: on a loaded machine the decoders can win the race, so a few fresh epochs
        // are tried (each drops what was prefetched); one wait is enough.
        for (int epoch = 10; epoch < 20 && loader->waitMicroseconds() == 0; ++epoch) {
            loader->startEpoch(epoch);
            QVERIFY(loader->next());
        }
        QVERIFY(loader->waitMicroseconds() > 0);
        // A new epoch mid-way: the old one is dropped, the new one is whole.
        loader->startEpoch(1);
        std::multiset<std::string> seen;
        while (auto b = loader->next()) seen.insert(b->paths.begin(), b->paths.end());
        QCOMPARE(seen.size(), images.size());
        QCOMPARE(std::set<std::string>(seen.begin(), seen.end()).size(), images.size());

        // Closing mid-epoch: workers finish the image in hand and leave.
        loader->startEpoch(2);
        QVERIFY(loader->next());
        QElapsedTimer timer;
        timer.start();
        loader.reset();
        QVERIFY2(timer.elapsed() < 5000, qPrintable(QString::number(timer.elapsed())));
        // And before any epoch, or right after starting one.
        BatchLoader idle(images, spec, options);
        BatchLoader started(images, spec, options);
        started.startEpoch(0);
    }

    // ---- Metrics -----------------------------------------------------------------------------

    void metricsMatchScikitLearn() {
        const double eps = 1e-9;
        for (const auto& c : reference_["cases"]) {
            const std::string name = c["name"];
            const int k = c["classCount"];
            const auto labels = c["labels"].get<std::vector<int>>();
            std::vector<std::vector<float>> probabilities;
            for (const auto& row : c["probabilities"]) {
                std::vector<float> p;
                for (double v : row) p.push_back(static_cast<float>(v));  // exact: float32 values
                probabilities.push_back(p);
            }
            const ClassificationMetrics m = computeMetrics(probabilities, labels, k);
            const QByteArray where = QByteArray::fromStdString(name);
            const auto near = [&](double got, double want, const char* what) {
                QVERIFY2(std::abs(got - want) <= eps, qPrintable(QString("%1 %2: %3 vs sklearn %4")
                                                                     .arg(where.constData(), what)
                                                                     .arg(got, 0, 'g', 17)
                                                                     .arg(want, 0, 'g', 17)));
            };
            const auto nearAll = [&](const std::vector<double>& got, const nlohmann::json& want,
                                     const char* what) {
                QVERIFY2(got.size() == want.size(), what);
                for (std::size_t i = 0; i < got.size(); ++i) near(got[i], want[i], what);
            };
            QCOMPARE(m.classCount, k);
            QVERIFY2(m.confusion == c["confusion"].get<std::vector<std::vector<int>>>(),
                     where.constData());
            near(m.accuracy, c["accuracy"], "accuracy");
            nearAll(m.precision, c["precision"], "precision");
            nearAll(m.recall, c["recall"], "recall");
            nearAll(m.f1, c["f1"], "f1");
            near(m.macroPrecision, c["macroPrecision"], "macro precision");
            near(m.macroRecall, c["macroRecall"], "macro recall");
            near(m.macroF1, c["macroF1"], "macro F1");
            if (c["rocAuc"].is_null())
                QVERIFY2(std::isnan(m.rocAuc), where.constData());
            else
                near(m.rocAuc, c["rocAuc"], "ROC AUC");
            if (c["roc"].is_null()) {
                QVERIFY2(m.roc.empty(), where.constData());
            } else {
                const auto& roc = c["roc"];
                QVERIFY2(m.roc.size() == roc["fpr"].size(),
                         qPrintable(QString("%1: %2 ROC points vs sklearn %3")
                                        .arg(where.constData())
                                        .arg(m.roc.size())
                                        .arg(roc["fpr"].size())));
                for (std::size_t i = 0; i < m.roc.size(); ++i) {
                    near(m.roc[i].falsePositiveRate, roc["fpr"][i], "fpr");
                    near(m.roc[i].truePositiveRate, roc["tpr"][i], "tpr");
                    near(m.roc[i].threshold, roc["thresholds"][i], "threshold");
                }
            }
        }
    }

    void metricsRejectBadInput() {
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, computeMetrics({{1.0f}}, {0}, 1));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, computeMetrics({{0.5f, 0.5f}}, {0, 1}, 2));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, computeMetrics({{0.5f, 0.5f}}, {2}, 2));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, computeMetrics({{1.0f}}, {0}, 2));
        const ClassificationMetrics empty = computeMetrics({}, {}, 3);
        QCOMPARE(empty.accuracy, 0.0);
        QVERIFY(std::isnan(empty.rocAuc));
        QCOMPARE(empty.confusion, (std::vector<std::vector<int>>(3, std::vector<int>(3, 0))));
    }
};

QTEST_GUILESS_MAIN(TrainDataTest)
#include "train_data_test.moc"
