// Dense mode for TorchScript models (traced or scripted): the receptive field read from the
// graph, the trunk cut into steps (their fields, their run against the head),
// tiles and streamed tiles against one pass, window logits, and the graphs refused with the op
// that stops them. Split from dense_cam_test to keep each suite within its CTest time limit.
#include "cam/DenseCam.h"
#include "cam/DenseGeometry.h"
#include "model/Model.h"

#include <torch/torch.h>

#include "DenseTestSupport.h"

#include <QTemporaryDir>
#include <QtTest>

using namespace lucida;
using namespace lucida::densetest;

class DenseTorchScriptTest : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;

private slots:
    void initTestCase() { QVERIFY(dir_.isValid()); }

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
    // give the head's output.
    void torchScriptTrunkInSteps_data() {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QString>("native");
        QTest::addColumn<QString>("layer");
        QTest::addColumn<QString>("nativeLayer");
        QTest::addColumn<int>("steps");
        for (const char* variant : {"traced", "scripted"}) {
            const QString v = variant;
            QTest::newRow(qPrintable("resnet18 " + v)) << "resnet18." + v + ".pt"
                                                       << "resnet18"
                                                       << "layer4"
                                                       << "layer4" << 9;
            QTest::newRow(qPrintable("small CNN " + v))
                << "smallcnn." + v + ".pt" << QString() << "features.3" << QString() << 4;
            QTest::newRow(qPrintable("branches " + v))
                << "dense_branchy." + v + ".pt" << QString() << "down" << QString() << 3;
        }
    }
    void torchScriptTrunkInSteps() {
        QFETCH(QString, file);
        QFETCH(QString, native);
        QFETCH(QString, layer);
        QFETCH(QString, nativeLayer);
        QFETCH(int, steps);
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
        {
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
};

QTEST_APPLESS_MAIN(DenseTorchScriptTest)
#include "dense_torchscript_test.moc"
