// Every CAM method against the independent Python reference (tests/reference/cam_reference.py,
// Debian's python3-torch): torchvision ResNet-18/50, a ResNet-18 with a one-logit head whose
// gradients are ~1e-4 (where an epsilon in Grad-CAM++ would dominate) and a small binary CNN,
// traced and scripted, for the predicted class and explicit ones, at two layers. Raw maps within
// 1e-4 of the map's max
// (+1e-6 absolute), logits within 1e-4.
#include "ReferenceFiles.h"
#include "cam/Explainer.h"
#include "model/Model.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QtTest>

#include <cmath>
#include <cstdlib>
#include <map>
#include <memory>

using namespace lucida;

using test::readFloats;
using test::referenceDir;

namespace {

QJsonObject index() { return test::readReferenceJson(QStringLiteral("index.json")); }

}  // namespace

class CamReferenceTest : public QObject {
    Q_OBJECT
    std::map<QString, std::unique_ptr<Model>> models_;

    Model& model(const QString& file) {
        auto& m = models_[file];
        if (!m) m = Model::open((referenceDir() + "/" + file).toStdString());
        return *m;
    }

private slots:
    void initTestCase() { configureTorchThreads(); }

    void matchesPython_data() {
        QTest::addColumn<QJsonObject>("entry");
        const QJsonArray entries = index()["entries"].toArray();
        QVERIFY(entries.size() >= 80);
        for (const auto& e : entries) {
            const QJsonObject o = e.toObject();
            const QString cls =
                o["class"].isString() ? o["class"].toString() : QString::number(o["class"].toInt());
            QTest::newRow(qPrintable(QStringLiteral("%1.%2.%3.%4")
                                         .arg(o["model"].toString(), o["variant"].toString(),
                                              o["method"].toString(), cls)))
                << o;
        }
    }

    void matchesPython() {
        QFETCH(QJsonObject, entry);
        Model& m = model(entry["model_file"].toString());
        const FloatTensor input =
            readFloats(entry["input_file"].toString(), entry["input_shape"].toArray());
        ExplainOptions options;
        options.method = entry["method"].toString().toStdString();
        options.layer = entry["layer"].toString().toStdString();
        if (!entry["class"].isString()) options.classIndex = entry["class"].toInt();
        const auto results = explain(m, input, options);
        const FloatTensor refMaps =
            readFloats(entry["map_file"].toString(), entry["map_shape"].toArray());
        const FloatTensor refLogits =
            readFloats(entry["logits_file"].toString(), entry["logits_shape"].toArray());
        const QJsonArray explained = entry["explained_class"].toArray();
        QCOMPARE(static_cast<qsizetype>(results.size()), refMaps.shape[0]);
        for (std::size_t b = 0; b < results.size(); ++b) {
            const Explanation& e = results[b];
            QCOMPARE(e.explainedClass, explained[static_cast<qsizetype>(b)].toInt());
            const auto k = refLogits.size(1);
            // 1e-4, relative to the logit where it exceeds 1 (random ResNet-50 weights give logits
            // of ~40, where float32 sums in another order differ by ~2e-4).
            for (std::int64_t j = 0; j < k; ++j)
                QVERIFY2(
                    std::abs(e.logits[static_cast<std::size_t>(j)] - refLogits.data[b * k + j]) <=
                        1e-4f * std::max(1.0f, std::abs(refLogits.data[b * k + j])),
                    qPrintable(QStringLiteral("logit %1: %2 vs %3")
                                   .arg(j)
                                   .arg(e.logits[j])
                                   .arg(refLogits.data[b * k + j])));
            const auto hw = refMaps.size(1) * refMaps.size(2);
            QCOMPARE(e.map.size(0), refMaps.size(1));
            QCOMPARE(e.map.size(1), refMaps.size(2));
            float refMax = 0, worst = 0;
            for (std::int64_t i = 0; i < hw; ++i)
                refMax = std::max(refMax, std::abs(refMaps.data[b * hw + i]));
            for (std::int64_t i = 0; i < hw; ++i)
                worst = std::max(worst, std::abs(e.map.data[static_cast<std::size_t>(i)] -
                                                 refMaps.data[b * hw + i]));
            // Relative to the map's maximum, with an absolute floor for maps the ReLU left nearly
            // empty (float32 sums that sit at zero). Exact Grad-CAM++ sums non-negative terms (no
            // cancellation) and its one-logit maps are small: no floor, so 1e-4 of the max it is.
            const float floor = entry["method"].toString() == "gradcam++" ? 0.0f : 1e-6f;
            const float relative = refMax > 0 ? worst / refMax : worst;
            QVERIFY2(worst <= 1e-4f * refMax + floor,
                     qPrintable(QStringLiteral("image %1: max diff %2 (relative %3, map max %4)")
                                    .arg(b)
                                    .arg(worst)
                                    .arg(relative)
                                    .arg(refMax)));
        }
    }

    // Theory: on a global-average-pool + linear head, Grad-CAM = CAM / (h * w).
    void camEqualsGradCamTimesArea() {
        const QJsonObject models = index()["models"].toObject();
        const QJsonObject r18 = models["resnet18"].toObject();
        Model& m = model("resnet18.traced.pt");
        const FloatTensor input =
            readFloats(r18["input_file"].toString(), r18["input_shape"].toArray());
        for (int cls = 0; cls < 3; ++cls) {
            ExplainOptions o;
            o.classIndex = cls;
            o.method = "cam";
            const auto cam = explain(m, input, o);
            o.method = "gradcam";
            const auto grad = explain(m, input, o);
            for (std::size_t b = 0; b < cam.size(); ++b) {
                const auto area = static_cast<float>(cam[b].map.data.size());
                float camMax = 0;
                for (float v : cam[b].map.data) camMax = std::max(camMax, v);
                for (std::size_t i = 0; i < cam[b].map.data.size(); ++i)
                    QVERIFY(std::abs(cam[b].map.data[i] - grad[b].map.data[i] * area) <=
                            1e-5f * std::max(camMax, 1.0f));
            }
        }
    }

    void badRequestsAreRefused() {
        Model& m = model("resnet18.traced.pt");
        const QJsonObject r18 = index()["models"].toObject()["resnet18"].toObject();
        const FloatTensor input =
            readFloats(r18["input_file"].toString(), r18["input_shape"].toArray());
        ExplainOptions o;
        o.method = "nosuchcam";
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, explain(m, input, o));
        o.method = "gradcam";
        o.classIndex = 7;
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, explain(m, input, o));
        o.classIndex.reset();
        o.layer = "layer9";
        QVERIFY_THROWS_EXCEPTION(std::exception, explain(m, input, o));
    }
};

QTEST_APPLESS_MAIN(CamReferenceTest)
#include "cam_reference_test.moc"
