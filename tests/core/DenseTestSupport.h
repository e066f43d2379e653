#pragma once
// Helpers of the dense-mode tests (dense_cam_test, dense_torchscript_test): models, random
// regions, and the checks that tiles equal one pass and window logits the model's head.
// Included after LibTorch's headers and before Qt's: Qt's `slots` macro breaks LibTorch.
#include "cam/DenseCam.h"
#include "model/Model.h"
#include "model/ModelSpec.h"
#include "model/NativeNetwork.h"

#include <torch/torch.h>

#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <cstdlib>
#include <cstring>

namespace lucida::densetest {

// A native model with seeded random weights (and random batch-norm statistics, so that the
// normalisation is not an identity), saved as .pth with its sidecar, opened as users open it.
inline std::unique_ptr<Model> makeModel(const QTemporaryDir& dir, const std::string& arch,
                                        int input) {
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
inline std::string referenceFile(const QString& file) {
    const char* dir = std::getenv("LUCIDA_REFERENCE_DIR");
    return (QString(dir ? dir : "reference") + "/" + file).toStdString();
}

inline FloatTensor randomRegion(int width, int height) {
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
inline FloatTensor crop(const FloatTensor& t, const DenseRect& r) {
    const auto h = t.size(2), w = t.size(3);
    FloatTensor out({1, 3, r.height, r.width});
    for (int c = 0; c < 3; ++c)
        for (int y = 0; y < r.height; ++y)
            std::memcpy(&out.data[static_cast<std::size_t>((c * r.height + y) * r.width)],
                        &t.data[static_cast<std::size_t>((c * h + r.y + y) * w + r.x)],
                        static_cast<std::size_t>(r.width) * sizeof(float));
    return out;
}

inline double maxAbs(const FloatTensor& t) {
    double m = 0;
    for (float v : t.data) m = std::max(m, double(std::abs(v)));
    return m;
}

inline double maxDiff(const FloatTensor& a, const FloatTensor& b) {
    if (a.shape != b.shape) return INFINITY;
    double m = 0;
    for (std::size_t i = 0; i < a.data.size(); ++i)
        m = std::max(m, double(std::abs(a.data[i] - b.data[i])));
    return m;
}

// Tiles (with halos, clipped to the region) against one pass, for features and maps.
// `streams`: whether tiles can stream from their neighbours (not a TorchScript trunk that could
// not be cut into steps,
// whose whole reach is its first step's: a continuing tile then reads its whole halo).
inline void checkStitching(const Model& model, const std::string& layer, int width, int height,
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
          static_cast<long long>(tiled.size(2)), static_cast<long long>(tiled.size(1)), mapError);
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
            const FloatTensor streamedBelow = bounded.tileMaps(read(rb), rb, below, nullptr, carry);
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
inline void checkWindowLogits(const Model& model, const std::string& layer) {
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
        QVERIFY2(
            std::abs(aloneLogits[static_cast<std::size_t>(k)] - want) < 1e-4 * (1 + std::abs(want)),
            qPrintable(QString("%1 vs %2").arg(aloneLogits[k]).arg(want)));
        contextShift =
            std::max(contextShift, double(std::abs(logits[static_cast<std::size_t>(k)] - want)));
    }
    qInfo("%s: the window's logits with context differ from the patch alone by %.3g",
          model.spec().architecture.c_str(), contextShift);
}

}  // namespace lucida::densetest
