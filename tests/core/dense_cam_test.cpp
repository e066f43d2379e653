// Dense mode (cam/DenseCam): the feature map and maps of a region computed in tiles with halos
// equal one pass over the whole region; a window's dense logits equal the model's own head on the
// same features, and the model's logits of the patch alone when the region is that patch.
// TorchScript trunks: dense_torchscript_test.
#include "cam/DenseCam.h"
#include "model/Model.h"
#include "model/ModelSpec.h"
#include "model/NativeNetwork.h"
#include "model/QuantisedTrunk.h"

#include <torch/torch.h>

#include "DenseTestSupport.h"

#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <cstdlib>
#include <cstring>

using namespace lucida;
using namespace lucida::densetest;

class DenseCamTest : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;

    // The trunk cropped step by step to what the remaining steps need equals the whole trunk over
    // tile and halo, on a tile with its halo inside the region and on one at the region's corner,
    // on the fast (folded, channels-last) path and on the plain one.
    void checkCroppedTrunk(const Model& model, const std::string& layer, int width, int height,
                           const std::vector<DenseRect>& inners) {
        const DenseCam dense(model, layer, "gradcam", 1);
        const FloatTensor region = randomRegion(width, height);
        const DenseReader read = [&](const DenseRect& r) { return crop(region, r); };
        for (const bool plain : {false, true}) {
            setPlainForward(plain);
            for (const DenseRect& inner : inners) {
                setDenseTrunkCrop(false);
                const FloatTensor whole = dense.features(read, {0, 0, width, height}, inner);
                setDenseTrunkCrop(true);
                const FloatTensor cropped = dense.features(read, {0, 0, width, height}, inner);
                const double err = maxDiff(cropped, whole) / maxAbs(whole);
                qInfo("%s tile %d,%d %dx%d (%s): cropped vs whole trunk %.2g",
                      model.spec().architecture.c_str(), inner.x, inner.y, inner.width,
                      inner.height, plain ? "plain" : "fast", err);
                QVERIFY2(err <= 1e-4, qPrintable(QString::number(err)));
            }
        }
        setPlainForward(false);
    }

    // The same for the int8 trunk (calibrated on the tile), on tiles whose inner cells are a part
    // of what is read. Quantised operators compute each kept cell from the same uint8 inputs with
    // the same int32 accumulation and requantisation whatever the tensor's extent: measured 0 for
    // the small CNN and for ResNet-18 tiles read under 512 px (onednn, 2026-12-02). On larger
    // reads the uncropped trunk's layer4.0 falls back to a float convolution (QuantisedTrunk.cpp,
    // quantisedConv) while the cropped one, reading fewer cells, runs int8: measured 0.012 of the
    // features' largest value (3 uint8 steps of the output's range), bounded by `tolerance`. A crop
    // at the wrong step reads other cells: differences of the order of the features themselves.
    void checkCroppedInt8Trunk(const Model& model, const std::string& layer, int width, int height,
                               const std::vector<DenseRect>& inners, double tolerance) {
        DenseCam dense(model, layer, "gradcam", 1);
        const DenseRect all{0, 0, width, height};
        const FloatTensor region = randomRegion(width, height);
        const DenseReader read = [&](const DenseRect& r) { return crop(region, r); };
        for (const DenseRect& inner : inners) {
            const DenseRect r = dense.readRect(all, inner);
            QVERIFY(r.width > inner.width && r.height > inner.height);  // a halo is read
            const FloatTensor fp32 = dense.features(read, all, inner);
            dense.setInt8Trunk(calibratedTrunk(model, layer, {crop(region, r)}));
            setDenseTrunkCrop(false);
            const FloatTensor whole = dense.features(read, all, inner);
            setDenseTrunkCrop(true);
            const FloatTensor cropped = dense.features(read, all, inner);
            dense.setInt8Trunk(nullptr);
            QCOMPARE(cropped.shape, whole.shape);
            const double err = maxDiff(cropped, whole) / maxAbs(whole);
            const double fromFp32 = maxDiff(whole, fp32) / maxAbs(fp32);
            qInfo("%s tile %d,%d %dx%d (int8): cropped vs whole trunk %.2g (int8 vs fp32 %.2g)",
                  model.spec().architecture.c_str(), inner.x, inner.y, inner.width, inner.height,
                  err, fromFp32);
            QVERIFY2(fromFp32 > 0, "the int8 trunk did not run");
            QVERIFY2(err <= tolerance, qPrintable(QString::number(err)));
        }
    }

    // Streamed rows in int8 (one calibration: the carried quantised columns join the new ones
    // with the same scales) equal rows of whole-halo tiles.
    void checkStreamedInt8(const Model& model, const std::string& layer, int width, int height,
                           int tile, double tolerance) {
        DenseCam dense(model, layer, "gradcam", 1);
        const FloatTensor region = randomRegion(width, height);
        const DenseReader read = [&](const DenseRect& r) { return crop(region, r); };
        dense.setInt8Trunk(calibratedTrunk(model, layer, {region}));
        const FloatTensor tiles = denseMapsInTiles(dense, read, width, height, tile);
        const FloatTensor streamed = denseMapsInTiles(dense, read, width, height, tile, true);
        dense.setInt8Trunk(nullptr);
        const FloatTensor fp32 = denseMapsInTiles(dense, read, width, height, tile);
        const double err = maxDiff(streamed, tiles) / maxAbs(tiles);
        qInfo("%s %dx%d tile %d (int8): streamed vs whole-halo tiles %.2g (int8 vs fp32 %.2g)",
              model.spec().architecture.c_str(), width, height, tile, err,
              maxDiff(tiles, fp32) / maxAbs(fp32));
        QVERIFY2(maxDiff(tiles, fp32) > 0, "the int8 trunk did not run");
        QVERIFY2(err <= tolerance, qPrintable(QString::number(err)));
    }

private slots:
    void initTestCase() { QVERIFY(dir_.isValid()); }

    // Halos from the layer lists: Σ padding · jump before a cell (rounded up to the stride) and
    // Σ (kernel − 1 − padding) · jump after it, less the cell's own box.
    void halosFollowTheLayers() {
        const auto resnet = makeModel(dir_, "resnet18", 224);
        const DenseSupport r = denseSupport(*resnet, "layer4", "gradcam");
        QCOMPARE(r.stride, 32);
        QCOMPARE(r.halo, 224);
        QCOMPARE(r.haloAfter, 186);
        const auto cnn = makeModel(dir_, "smallcnn", 64);
        const DenseSupport c = denseSupport(*cnn, "block4", "gradcam");
        QCOMPARE(c.stride, 8);
        QCOMPARE(c.halo, 16);
        QCOMPARE(c.haloAfter, 15);
    }

    // GPU tile sides by --batch auto's rule: half the free memory less the fixed cost, in
    // stride² blocks, side = stride · ⌊√blocks⌋, clamped to [stride, maxSide].
    void tileSideFollowsFreeMemory() {
        // 8 GiB free, 1 KiB per pixel, 512 MiB fixed: (4 GiB − 0.5 GiB) / 1 MiB per 32² block
        // = 3584 blocks, ⌊√3584⌋ = 59 → 1888 px.
        QCOMPARE(denseTileSideFor(8LL << 30, 1024.0, 512LL << 20, 32, 8192), 1888);
        QCOMPARE(denseTileSideFor(8LL << 30, 1024.0, 512LL << 20, 32, 1000), 992);  // the cap
        QCOMPARE(denseTileSideFor(64LL << 20, 1024.0, 512LL << 20, 32, 8192), 32);  // no room
        // Four times the memory, twice the side (less the fixed cost's share).
        QCOMPARE(denseTileSideFor(32LL << 30, 256.0, 0, 8, 1 << 20), 8192);
        QCOMPARE(denseTileSideFor(128LL << 30, 256.0, 0, 8, 1 << 20), 16384);
        // On the CPU the cache-tuned sides apply.
        const auto cnn = makeModel(dir_, "smallcnn", 64);
        QCOMPARE(denseTileSideForDevice(DenseCam(*cnn, "block4", "cam", 1), *cnn, 8192), 0);
    }

    void croppedTrunkEqualsWholeTrunk() {
        const auto resnet = makeModel(dir_, "resnet18", 224);
        checkCroppedTrunk(*resnet, "layer4", 1000, 900,
                          {{320, 256, 288, 224}, {32, 0, 96, 64}, {704, 608, 296, 292}});
        const auto cnn = makeModel(dir_, "smallcnn", 64);
        checkCroppedTrunk(*cnn, "block4", 301, 237,
                          {{64, 48, 80, 72}, {0, 8, 40, 40}, {200, 160, 101, 77}});
    }

    void croppedInt8TrunkEqualsWholeInt8Trunk() {
        if (quantisedEngine().empty()) QSKIP("this LibTorch has no quantised engine");
        const auto resnet = makeModel(dir_, "resnet18", 224);
        // Reads of 512 px and more run layer4.0 in float where oneDNN's VNNI kernels refuse it
        // (QuantisedTrunk's fallback), smaller cropped ones in int8: a few uint8 steps apart (0.012
        // and 0.02 of the largest feature measured; one step ≈ 0.004). A crop at a wrong step
        // differs by a third of the largest feature or fails on shapes.
        checkCroppedInt8Trunk(*resnet, "layer4", 1000, 900,
                              {{320, 256, 288, 224}, {32, 0, 96, 64}, {704, 608, 296, 292}}, 0.05);
        const auto cnn = makeModel(dir_, "smallcnn", 64);
        checkCroppedInt8Trunk(*cnn, "block4", 301, 237,
                              {{64, 48, 80, 72}, {0, 8, 40, 40}, {200, 160, 101, 77}}, 0);
    }

    void streamedInt8RowsEqualTiles() {
        if (quantisedEngine().empty()) QSKIP("this LibTorch has no quantised engine");
        checkStreamedInt8(*makeModel(dir_, "smallcnn", 64), "block4", 301, 237, 64, 0);
        // ResNet-18 reads under 512 px (int8 throughout; see croppedInt8TrunkEqualsWholeInt8Trunk)
        checkStreamedInt8(*makeModel(dir_, "resnet18", 224), "layer4", 700, 300, 96, 0);
    }

    void smallCnnTilesEqualOnePass() {
        const auto model = makeModel(dir_, "smallcnn", 64);
        checkStitching(*model, "block4", 256, 192, 64);   // tiles divide the region
        checkStitching(*model, "block4", 301, 237, 100);  // they do not (and the region is odd)
    }

    void resNet18TilesEqualOnePass() {
        const auto model = makeModel(dir_, "resnet18", 224);
        checkStitching(*model, "layer4", 512, 512, 256);
        checkStitching(*model, "layer4", 700, 530, 288);
        checkStitching(*model, "layer4", 700, 300, 64);  // tiles narrower than the halo
    }

    void windowLogitsEqualTheModelsHead() {
        checkWindowLogits(*makeModel(dir_, "smallcnn", 64), "block4");
        checkWindowLogits(*makeModel(dir_, "resnet18", 224), "layer4");
    }

    // TorchScript trunks: the receptive field read from the graph equals the architecture's for
    // ResNet-18 and the small CNN as tests/reference traces and scripts them, and the one computed
    // by hand (make_dense_models.py) for a graph with dilation, a pooling branch, a 1x5 kernel with
    // padding "same" and channel concatenation.
    void refusesWhatIsNotDense() {
        const auto model = makeModel(dir_, "resnet18", 224);
        QVERIFY(denseSupport(*model, "layer4", "gradcam").supported);
        const DenseSupport layer3 = denseSupport(*model, "layer3", "gradcam");
        QVERIFY(!layer3.supported);
        QVERIFY2(QString::fromStdString(layer3.reason).contains("layer3"), layer3.reason.c_str());
        const DenseSupport score = denseSupport(*model, "layer4", "scorecam");
        QVERIFY(!score.supported);
        QVERIFY(QString::fromStdString(score.reason).contains("scorecam"));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, DenseCam(*model, "layer4", "gradcam++", 1));
    }
};

QTEST_APPLESS_MAIN(DenseCamTest)
#include "dense_cam_test.moc"
