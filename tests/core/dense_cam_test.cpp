// Dense mode (cam/DenseCam): the feature map and maps of a region computed in tiles with halos
// equal one pass over the whole region; a window's dense logits equal the model's own head on the
// same features, and the model's logits of the patch alone when the region is that patch.
#include "cam/DenseCam.h"
#include "cam/DenseGeometry.h"
#include "model/Model.h"
#include "model/ModelSpec.h"
#include "model/NativeNetwork.h"
#include "model/QuantisedTrunk.h"
#include "model/TorchScriptBackend.h"

#include <torch/torch.h>

#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <cstdlib>
#include <cstring>

using namespace lucida;

namespace {

// A native model with seeded random weights (and random batch-norm statistics, so that the
// normalisation is not an identity), saved as .pth with its sidecar, opened as users open it.
std::unique_ptr<Model> makeModel(const QTemporaryDir& dir, const std::string& arch, int input) {
    torch::manual_seed(11);
    auto net = makeNativeNetwork(arch, 2);
    {
        torch::NoGradGuard noGrad;
        for (auto& b : net->module().named_buffers()) {
            if (b.key().find("running_mean") != std::string::npos) b.value().normal_(0, 0.1);
            if (b.key().find("running_var") != std::string::npos) b.value().uniform_(0.5, 2.0);
        }
    }
    const std::string path = dir.filePath(QString::fromStdString(arch + ".pth")).toStdString();
    saveNativeState(*net, path);
    ModelSpec spec;
    spec.architecture = arch;
    spec.classes = {"normal", "tumour"};
    spec.inputWidth = spec.inputHeight = input;
    writeModelSpec(spec, sidecarPathFor(path));
    return Model::open(path);
}

// A model file of the Python reference data (tests/reference: make_cam_reference.py,
// make_dense_models.py). Not ReferenceFiles.h: its Qt headers must not precede LibTorch's.
std::string referenceFile(const QString& file) {
    const char* dir = std::getenv("LUCIDA_REFERENCE_DIR");
    return (QString(dir ? dir : "reference") + "/" + file).toStdString();
}

FloatTensor randomRegion(int width, int height) {
    torch::manual_seed(5);
    // Smooth structure plus noise, as tissue is: the maps are not flat.
    at::Tensor x = torch::randn({1, 3, height / 8 + 1, width / 8 + 1});
    x = torch::upsample_bilinear2d(x, {height, width}, false) +
        0.3 * torch::randn({1, 3, height, width});
    x = x.contiguous();
    FloatTensor out({1, 3, height, width});
    std::memcpy(out.data.data(), x.data_ptr<float>(), out.data.size() * sizeof(float));
    return out;
}

// The crop of an input [1, 3, H, W].
FloatTensor crop(const FloatTensor& t, const DenseRect& r) {
    const auto h = t.size(2), w = t.size(3);
    FloatTensor out({1, 3, r.height, r.width});
    for (int c = 0; c < 3; ++c)
        for (int y = 0; y < r.height; ++y)
            std::memcpy(&out.data[static_cast<std::size_t>((c * r.height + y) * r.width)],
                        &t.data[static_cast<std::size_t>((c * h + r.y + y) * w + r.x)],
                        static_cast<std::size_t>(r.width) * sizeof(float));
    return out;
}

double maxAbs(const FloatTensor& t) {
    double m = 0;
    for (float v : t.data) m = std::max(m, double(std::abs(v)));
    return m;
}

double maxDiff(const FloatTensor& a, const FloatTensor& b) {
    if (a.shape != b.shape) return INFINITY;
    double m = 0;
    for (std::size_t i = 0; i < a.data.size(); ++i)
        m = std::max(m, double(std::abs(a.data[i] - b.data[i])));
    return m;
}

}  // namespace

class DenseCamTest : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;

    // Tiles (with halos, clipped to the region) against one pass, for features and maps.
    // `streams`: whether tiles can stream from their neighbours (not a one-step TorchScript trunk,
    // whose whole reach is its first step's: a continuing tile then reads its whole halo).
    void checkStitching(const Model& model, const std::string& layer, int width, int height,
                        int tile, bool streams = true) {
        const DenseCam dense(model, layer, "gradcam", 1);
        const FloatTensor region = randomRegion(width, height);
        const DenseReader read = [&](const DenseRect& r) { return crop(region, r); };
        const FloatTensor whole = dense.features(region);
        const FloatTensor wholeMaps = dense.maps(whole);
        const FloatTensor tiled = denseMapsInTiles(dense, read, width, height, tile);
        const double mapError = maxDiff(tiled, wholeMaps) / maxAbs(wholeMaps);
        qInfo("%s %dx%d tile %d: stride %d halo %d, maps %lldx%lld, relative error %.2g",
              model.spec().architecture.c_str(), width, height, tile, dense.stride(), dense.halo(),
              static_cast<long long>(tiled.size(2)), static_cast<long long>(tiled.size(1)),
              mapError);
        QVERIFY(mapError <= 1e-4);
        // Rows of tiles streamed left to right (each tile after the first reads and computes only
        // its new cells' reach: DenseCarry); denseMapsInTiles throws where a tile cannot continue.
        const FloatTensor streamed = denseMapsInTiles(dense, read, width, height, tile, true);
        const double streamError = maxDiff(streamed, wholeMaps) / maxAbs(wholeMaps);
        qInfo("  streamed: relative error %.2g", streamError);
        QVERIFY(streamError <= 1e-4);
        const int side = (tile + dense.stride() - 1) / dense.stride() * dense.stride();
        if (!streams && width > side) {
            const DenseRect region{0, 0, width, height}, first{0, 0, side, side},
                second{side, 0, std::min(side, width - side), side};
            QCOMPARE(dense.readRect(region, second, &first).x, dense.readRect(region, second).x);
        }
        if (streams && width > side) {  // a continuing tile reads less than its whole halo
            const DenseRect region{0, 0, width, height}, first{0, 0, side, side},
                second{side, 0, std::min(side, width - side), side};
            const DenseRect whole = dense.readRect(region, second);
            const DenseRect r = dense.readRect(region, second, &first);
            QVERIFY(r.x > whole.x);
            QCOMPARE(r.x + r.width, whole.x + whole.width);
        }
        if (streams && height > side) {  // so does a tile under tiles that cover its columns
            const DenseRect region{0, 0, width, height}, below{0, side, side, side};
            const std::vector<DenseRect> above{{0, 0, side / 2, side}, {side / 2, 0, side, side}};
            const DenseRect whole = dense.readRect(region, below);
            const DenseRect r = dense.readRect(region, below, nullptr, &above);
            if (side + dense.support().haloAfter <= height) {
                QVERIFY(r.y > whole.y);
                QCOMPARE(r.y + r.height, whole.y + whole.height);
                QCOMPARE(r.x, whole.x);
            }
            // Tiles that leave a column of it uncovered, or end a row higher: its whole halo.
            const std::vector<DenseRect> gap{{dense.stride(), 0, side, side}},
                higher{{0, 0, side, side - dense.stride()}};
            QCOMPARE(dense.readRect(region, below, nullptr, &gap).y, whole.y);
            QCOMPARE(dense.readRect(region, below, nullptr, &higher).y, whole.y);
            // Run: the tile below streams from what the tile above kept (equal to its whole
            // halo's maps); with nothing allowed to be kept, it reads its whole halo.
            const DenseRect top{0, 0, side, side};
            for (const std::size_t budget : {std::size_t{1} << 30, std::size_t{0}}) {
                DenseCam bounded(model, layer, "gradcam", 1);
                bounded.setKeepBytes(budget);
                DenseCarry carry;
                const DenseRect rt = bounded.readRect(region, top, nullptr, carry);
                bounded.tileMaps(read(rt), rt, top, nullptr, carry);
                carry.keepFrom(below.x, below.y);
                const DenseRect rb = bounded.readRect(region, below, &top, carry);
                if (budget == 0 || side + dense.support().haloAfter > height) {
                    QCOMPARE(rb.y, whole.y);
                    QCOMPARE(carry.keptBytes(), std::size_t(0));
                    continue;
                }
                QVERIFY(rb.y > whole.y);
                QVERIFY(carry.keptBytes() > 0);
                QVERIFY(bounded.continues(carry, rb, below));
                const FloatTensor streamedBelow =
                    bounded.tileMaps(read(rb), rb, below, nullptr, carry);
                const FloatTensor wholeBelow = bounded.tileMaps(read(whole), whole, below);
                QVERIFY(maxDiff(streamedBelow, wholeBelow) <= 1e-4 * maxAbs(wholeBelow));
            }
        }
        // The features of one inner tile that touches no region edge, and of the last corner.
        const int s = dense.stride();
        // (the last cell of the one pass: its column and row start there)
        const int lastX = static_cast<int>(whole.size(3) - 1) * s,
                  lastY = static_cast<int>(whole.size(2) - 1) * s;
        for (const DenseRect inner : {DenseRect{2 * s, s, 4 * s, 3 * s},
                                      DenseRect{lastX, lastY, width - lastX, height - lastY}}) {
            const FloatTensor f = dense.features(read, {0, 0, width, height}, inner);
            at::Tensor w = torch::from_blob(const_cast<float*>(whole.data.data()), whole.shape);
            w = w.slice(2, inner.y / s, inner.y / s + f.size(2))
                    .slice(3, inner.x / s, inner.x / s + f.size(3))
                    .contiguous();
            const double err = (torch::from_blob(const_cast<float*>(f.data.data()), f.shape) - w)
                                   .abs()
                                   .max()
                                   .item<double>() /
                               maxAbs(whole);
            QVERIFY2(err <= 1e-4, qPrintable(QString::number(err)));
        }
    }

    // A window's dense logits: the model's own tail on the same features (the patch run with its
    // surroundings), and Model::logits of the patch alone when the region is just that patch.
    void checkWindowLogits(const Model& model, const std::string& layer) {
        const DenseCam dense(model, layer, "cam", 1);
        const int input = model.spec().inputWidth, s = dense.stride(), cells = dense.windowCells();
        const int width = input * 3 + 2 * s, height = input * 2 + s;
        const FloatTensor region = randomRegion(width, height);
        const DenseReader read = [&](const DenseRect& r) { return crop(region, r); };
        const FloatTensor features = dense.features(region);
        const FloatTensor maps = dense.maps(features);
        const int cx = 3, cy = 2;  // a window with context on every side
        const std::vector<float> logits = denseWindowLogits(dense, maps, cx, cy, cells);
        // The model's head applied to the window's features.
        at::Tensor f = torch::from_blob(const_cast<float*>(features.data.data()), features.shape)
                           .slice(2, cy, cy + cells)
                           .slice(3, cx, cx + cells)
                           .contiguous();
        torch::NoGradGuard noGrad;
        const at::Tensor probe = torch::zeros({1, 3, input, input});
        const at::Tensor head = model.backend().tail(probe, f, layer).detach();
        for (int k = 0; k < 2; ++k)
            QVERIFY2(std::abs(head[0][k].item<float>() - logits[static_cast<std::size_t>(k)]) <
                         1e-4 * (1 + std::abs(logits[static_cast<std::size_t>(k)])),
                     qPrintable(QString("%1 vs %2").arg(head[0][k].item<float>()).arg(logits[k])));
        // The patch alone: dense over a region that is exactly the patch = the patch-wise model.
        const FloatTensor patch = crop(region, {cx * s, cy * s, input, input});
        const FloatTensor alone = denseMapsInTiles(
            dense, [&](const DenseRect& r) { return crop(patch, r); }, input, input, input / 2);
        const std::vector<float> aloneLogits = denseWindowLogits(dense, alone, 0, 0, cells);
        const FloatTensor patchLogits = model.logits(patch);
        double contextShift = 0;
        for (int k = 0; k < 2; ++k) {
            const float want = patchLogits.data[static_cast<std::size_t>(k)];
            QVERIFY2(std::abs(aloneLogits[static_cast<std::size_t>(k)] - want) <
                         1e-4 * (1 + std::abs(want)),
                     qPrintable(QString("%1 vs %2").arg(aloneLogits[k]).arg(want)));
            contextShift = std::max(contextShift,
                                    double(std::abs(logits[static_cast<std::size_t>(k)] - want)));
        }
        qInfo("%s: the window's logits with context differ from the patch alone by %.3g",
              model.spec().architecture.c_str(), contextShift);
    }

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
    void torchScriptHalosFromTheGraph_data() {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QString>("layer");
        QTest::addColumn<int>("stride");
        QTest::addColumn<int>("halo");
        QTest::addColumn<int>("haloAfter");
        for (const char* variant : {"traced", "scripted"}) {
            const QString v = variant;
            QTest::newRow(qPrintable("resnet18 " + v)) << "resnet18." + v + ".pt"
                                                       << "layer4" << 32 << 224 << 186;
            QTest::newRow(qPrintable("small CNN " + v)) << "smallcnn." + v + ".pt"
                                                        << "features.3" << 16 << 16 << 15;
            QTest::newRow(qPrintable("branches " + v)) << "dense_branchy." + v + ".pt"
                                                       << "down" << 4 << 12 << 9;
        }
    }
    void torchScriptHalosFromTheGraph() {
        QFETCH(QString, file);
        QFETCH(QString, layer);
        QFETCH(int, stride);
        QFETCH(int, halo);
        QFETCH(int, haloAfter);
        const auto model = Model::open(referenceFile(file));
        const DenseSupport d = denseSupport(*model, layer.toStdString(), "gradcam");
        QVERIFY2(d.supported, d.reason.c_str());
        QCOMPARE(d.stride, stride);
        QCOMPARE(d.halo, halo);
        QCOMPARE(d.haloAfter, haloAfter);
    }

    // A TorchScript trunk runs in steps cut from its graph — a ResNet's as the native layer lists
    // (its stem with its pooling, then each block), the reference CNN's per conv-BN-ReLU-pool
    // block — so its tiles crop and stream as a native trunk's do; the steps one after the other
    // give the head's output, on the plain path and (from the second run) the frozen, optimised
    // one.
    void torchScriptTrunkInSteps_data() {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QString>("native");
        QTest::addColumn<QString>("layer");
        QTest::addColumn<QString>("nativeLayer");
        QTest::addColumn<int>("steps");
        QTest::addColumn<bool>("optimised");
        for (const char* variant : {"traced", "scripted"}) {
            const QString v = variant;
            const bool scripted = v == "scripted";
            QTest::newRow(qPrintable("resnet18 " + v)) << "resnet18." + v + ".pt"
                                                       << "resnet18"
                                                       << "layer4"
                                                       << "layer4" << 9 << true;
            QTest::newRow(qPrintable("small CNN " + v))
                << "smallcnn." + v + ".pt" << QString() << "features.3" << QString() << 4 << true;
            // LibTorch 1.13's oneDNN pass fails on a scripted conv2d(padding="same") ("Expected
            // IntList but got String"): that model keeps its plain steps.
            QTest::newRow(qPrintable("branches " + v)) << "dense_branchy." + v + ".pt" << QString()
                                                       << "down" << QString() << 3 << !scripted;
        }
    }
    void torchScriptTrunkInSteps() {
        QFETCH(QString, file);
        QFETCH(QString, native);
        QFETCH(QString, layer);
        QFETCH(QString, nativeLayer);
        QFETCH(int, steps);
        QFETCH(bool, optimised);
        const auto model = Model::open(referenceFile(file));
        const dense::ReceptiveField f =
            dense::receptiveFieldOf(model->backend().trunkGeometry(layer.toStdString()));
        qInfo("%zu steps", f.jump.size());
        QCOMPARE(int(f.jump.size()), steps);
        if (!native.isEmpty()) {
            const auto reference = makeModel(dir_, native.toStdString(), 224);
            const dense::ReceptiveField n = dense::receptiveFieldOf(
                reference->backend().trunkGeometry(nativeLayer.toStdString()));
            QCOMPARE(f.jump, n.jump);
            QCOMPARE(f.restBefore, n.restBefore);
            QCOMPARE(f.restAfter, n.restAfter);
            QCOMPARE(f.stride, n.stride);
            QCOMPARE(f.before, n.before);
            QCOMPARE(f.after, n.after);
        }
        torch::manual_seed(4);
        const at::Tensor x = torch::randn({1, 3, 160, 192});
        for (int round = 0; round < 3; ++round) {
            const at::Tensor head = model->backend().head(x, layer.toStdString());
            std::size_t ran = 0;
            const at::Tensor cropped = model->backend().headCropped(
                x, layer.toStdString(), [&](std::size_t k, const at::Tensor& out) {
                    ran = std::max(ran, k + 1);
                    return out;
                });
            QCOMPARE(ran, f.jump.size());
            QCOMPARE(cropped.sizes().vec(), head.sizes().vec());
            const double error =
                (cropped - head).abs().max().item<double>() / head.abs().max().item<double>();
            QVERIFY2(error <= 1e-5, qPrintable(QString::number(error)));
        }
        QCOMPARE(torchScriptOptimised(model->backend()).stepsLayer,
                 optimised ? layer.toStdString() : std::string());
    }

    // Tiles of a TorchScript trunk against one pass over the region, whole and streamed.
    void torchScriptTilesEqualOnePass() {
        const auto open = [](const char* file) { return Model::open(referenceFile(file)); };
        const auto branchy = open("dense_branchy.traced.pt");
        checkStitching(*branchy, "down", 301, 237, 64);
        checkStitching(*branchy, "down", 150, 96, 8);  // tiles narrower than the halo
        checkStitching(*open("dense_branchy.scripted.pt"), "down", 256, 192, 100);
        checkStitching(*open("smallcnn.scripted.pt"), "features.3", 301, 250, 100);
        checkStitching(*open("resnet18.traced.pt"), "layer4", 700, 530, 288);
        checkWindowLogits(*branchy, "down");
        checkWindowLogits(*open("resnet18.scripted.pt"), "layer4");
    }

    // Graphs dense tiles could not reproduce are refused with the op that stops them.
    void torchScriptRefusals_data() {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QString>("reason");
        QTest::newRow("SE traced") << "dense_se.traced.pt"
                                   << "a global pooling inside the trunk feeds aten::mul";
        QTest::newRow("SE scripted") << "dense_se.scripted.pt"
                                     << "a global pooling inside the trunk feeds aten::mul";
        QTest::newRow("resize traced") << "dense_resize.traced.pt"
                                       << "the trunk uses aten::upsample_bilinear2d";
        QTest::newRow("resize scripted") << "dense_resize.scripted.pt"
                                         << "dense mode cannot follow the model's graph";
    }
    void torchScriptRefusals() {
        QFETCH(QString, file);
        QFETCH(QString, reason);
        const auto model = Model::open(referenceFile(file));
        const DenseSupport d = denseSupport(*model, "body", "gradcam");
        QVERIFY(!d.supported);
        QVERIFY2(QString::fromStdString(d.reason).contains(reason), d.reason.c_str());
        QVERIFY2(QString::fromStdString(d.reason).startsWith("dense mode cannot follow the "
                                                             "model's graph"),
                 d.reason.c_str());
    }

    // A ReLU between the target layer and the pooling (torchvision's DenseNet): the head is not
    // linear in the layer's output, refused by the check on activations of both signs.
    void torchScriptReluBeforeThePoolingIsRefused() {
        for (const char* file : {"dense_relu_tail.traced.pt", "dense_relu_tail.scripted.pt"}) {
            const auto model = Model::open(referenceFile(file));
            const DenseSupport d = denseSupport(*model, "body", "gradcam");
            QVERIFY(!d.supported);
            QVERIFY2(QString::fromStdString(d.reason).contains(
                         "is more than global average pooling + a linear layer"),
                     d.reason.c_str());
            // Patch mode's gradients flow through the tail's in-place ReLU (a leaf that requires
            // grad cannot be changed in place), and the caller's activations stay as they were.
            const at::Tensor probe = torch::randn({1, 3, 64, 64});
            const at::Tensor a =
                model->backend().head(probe, "body").detach().clone().requires_grad_(true);
            const at::Tensor before = a.detach().clone();
            const at::Tensor logits = model->backend().tail(probe, a, "body");
            logits[0][1].backward();
            QVERIFY(a.grad().defined() && a.grad().abs().sum().item<double>() > 0);
            QVERIFY(torch::equal(a.detach(), before));
        }
    }

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
