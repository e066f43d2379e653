// The model-randomisation sanity check on the demo model and a demo tumour patch: Grad-CAM's map
// must lose its rank correlation with the original once the head and the last block are
// randomised, while an edge-magnitude "method" that ignores the model must stay the same; the
// check's verdict must tell the two apart. Randomisation must not touch the model passed in.
#include "checks/Randomisation.h"

#include "cam/Explainer.h"
#include "demo/DemoData.h"
#include "model/Model.h"

#include <QtTest>

#include <cmath>

using namespace lucida;

namespace {

const char* kDemoModel = LUCIDA_SOURCE_DIR "/resources/demo/model/demo-smallcnn.pth";

FloatTensor demoImage(const ModelSpec& spec) {
    const demo::DemoPatch patch = demo::renderDemoPatch(demo::kDefaultSeed, 2, true, 3, 128);
    FloatTensor t({1, 3, 128, 128});
    for (int c = 0; c < 3; ++c)
        for (int i = 0; i < 128 * 128; ++i)
            t.data[static_cast<std::size_t>(c * 128 * 128 + i)] =
                (patch.rgb[static_cast<std::size_t>(i * 3 + c)] / 255.0f - spec.mean[c]) /
                spec.std[c];
    return t;
}

// |∇| of the image's channel mean by central differences: a map with no model in it.
FloatTensor edgeMagnitude(const Model&, const FloatTensor& image) {
    const auto h = image.size(2), w = image.size(3);
    auto at = [&](std::int64_t y, std::int64_t x) {
        y = std::clamp<std::int64_t>(y, 0, h - 1);
        x = std::clamp<std::int64_t>(x, 0, w - 1);
        float s = 0;
        for (int c = 0; c < 3; ++c) s += image.data[static_cast<std::size_t>((c * h + y) * w + x)];
        return s / 3;
    };
    FloatTensor m({h, w});
    for (std::int64_t y = 0; y < h; ++y)
        for (std::int64_t x = 0; x < w; ++x)
            m.data[static_cast<std::size_t>(y * w + x)] =
                std::hypot(at(y, x + 1) - at(y, x - 1), at(y + 1, x) - at(y - 1, x));
    return m;
}

}  // namespace

class RandomisationTest : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() { configureTorchThreads(); }

    void blocksFromTheHeadDown() {
        const auto model = Model::open(kDemoModel);
        const std::vector<std::string> expected = {"fc", "block4", "block3", "block2", "block1"};
        QCOMPARE(parameterBlocks(*model), expected);
    }

    void gradCamDependsOnWeightsEdgesDoNot() {
        const auto model = Model::open(kDemoModel);
        const FloatTensor image = demoImage(model->spec());
        ExplainOptions o;
        const auto before = explain(*model, image, o).at(0).map;

        int calls = 0;
        RandomisationOptions options;
        options.progress = [&](int done, int total) {
            ++calls;
            return done > total;  // never cancels
        };
        const auto grad = cascadingRandomisation(*model, image, explanationMap("gradcam"), options);
        QCOMPARE(calls, 5);
        QCOMPARE(grad.stages.size(), std::size_t{5});
        QCOMPARE(grad.stages[1].block, std::string("block4"));
        for (const auto& s : grad.stages)
            qInfo("gradcam %s: spearman %.3f ssim %.3f", s.block.c_str(), s.spearman, s.ssim);
        QVERIFY2(std::abs(grad.stages[1].spearman) < 0.3, "Grad-CAM survived randomising block4");
        QVERIFY(grad.dependsOnWeights);
        QVERIFY(grad.verdict.find("depends on the learned weights") != std::string::npos);

        const auto edges = cascadingRandomisation(*model, image, edgeMagnitude, options);
        for (const auto& s : edges.stages) {
            QVERIFY(std::abs(s.spearman - 1) < 1e-9);
            QVERIFY(std::abs(s.ssim - 1) < 1e-9);
        }
        QVERIFY(!edges.dependsOnWeights);
        QVERIFY(edges.verdict.find("barely depends") != std::string::npos);

        // The model passed in was not randomised (the check works on its own copy).
        QCOMPARE(explain(*model, image, o).at(0).map.data, before.data);
    }

    void cancelStops() {
        const auto model = Model::open(kDemoModel);
        RandomisationOptions options;
        options.progress = [](int, int) { return true; };
        QVERIFY_THROWS_EXCEPTION(std::runtime_error,
                                 cascadingRandomisation(*model, demoImage(model->spec()),
                                                        explanationMap("gradcam"), options));
    }
};

QTEST_APPLESS_MAIN(RandomisationTest)
#include "randomisation_test.moc"
