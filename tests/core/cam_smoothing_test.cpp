// CAM smoothing against the independent Python reference (tests/reference/
// make_smoothing_reference.py, numpy/torch float64): eigen smoothing of every channel-sum method
// and test-time flips, on the small CNN and ResNet-18, at two layers each. Maps within 1e-4 of the
// map's maximum (+1e-6 absolute for near-empty maps). The reference fails itself if a smoothing
// leaves a map unchanged, so matching the unsmoothed map would not pass here.
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

QJsonObject smoothingIndex() { return test::readReferenceJson(QStringLiteral("smoothing.json")); }

}  // namespace

class CamSmoothingTest : public QObject {
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
        const QJsonArray entries = smoothingIndex()["entries"].toArray();
        QVERIFY(entries.size() >= 30);
        for (const auto& e : entries) {
            const QJsonObject o = e.toObject();
            QTest::newRow(qPrintable(o["map_file"].toString())) << o;
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
        options.eigenSmooth = entry["smoothing"].toString() == "eigen";
        options.augmentSmooth = entry["smoothing"].toString() == "flips";
        const auto results = explain(m, input, options);
        const FloatTensor ref =
            readFloats(entry["map_file"].toString(), entry["map_shape"].toArray());
        const QJsonArray explained = entry["explained_class"].toArray();
        QCOMPARE(static_cast<qsizetype>(results.size()), ref.shape[0]);
        const auto hw = ref.size(1) * ref.size(2);
        for (std::size_t b = 0; b < results.size(); ++b) {
            QCOMPARE(results[b].explainedClass, explained[static_cast<qsizetype>(b)].toInt());
            QCOMPARE(results[b].map.size(0), ref.size(1));
            float refMax = 0, worst = 0;
            for (std::int64_t i = 0; i < hw; ++i) {
                refMax = std::max(refMax, std::abs(ref.data[b * hw + i]));
                worst = std::max(worst, std::abs(results[b].map.data[static_cast<std::size_t>(i)] -
                                                 ref.data[b * hw + i]));
            }
            QVERIFY2(worst <= 1e-4f * refMax + 1e-6f,
                     qPrintable(QStringLiteral("image %1: max diff %2, map max %3")
                                    .arg(b)
                                    .arg(worst)
                                    .arg(refMax)));
        }
    }

    // Eigen-CAM is a principal component already: eigen smoothing leaves it as it is.
    void eigenCamIsItsOwnSmoothing() {
        Model& m = model("smallcnn.traced.pt");
        const FloatTensor input = readFloats("smallcnn.input.f32", QJsonArray{2, 3, 128, 128});
        ExplainOptions o;
        o.method = "eigencam";
        const auto plain = explain(m, input, o);
        o.eigenSmooth = true;
        const auto smoothed = explain(m, input, o);
        for (std::size_t b = 0; b < plain.size(); ++b)
            QCOMPARE(smoothed[b].map.data, plain[b].map.data);
    }
};

QTEST_APPLESS_MAIN(CamSmoothingTest)
#include "cam_smoothing_test.moc"
