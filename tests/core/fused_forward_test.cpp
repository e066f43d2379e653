// The engine's fast forward (issue 16) against its plain one: BatchNorm folded into the
// convolutions and channels-last for native networks, frozen and optimised graphs for TorchScript.
// Logits, the trunk up to a target layer and Grad-CAM's map (through the tail's gradient) must
// equal the plain path's (≤ 1e-4 of the largest value), also after parameters change in place
// (the randomisation check does that), and the plain path must stay what it was.
#include "model/Model.h"
#include "model/NativeNetwork.h"
#include "model/TorchScriptBackend.h"

#include <torch/torch.h>

#include <QtTest>

#include <cstdlib>
#include <random>

using namespace lucida;

namespace {

QString ref(const QString& relative) {
    const char* d = std::getenv("LUCIDA_REFERENCE_DIR");
    return QString(d ? d : "reference") + "/" + relative;
}
const char* kDemoModel = LUCIDA_SOURCE_DIR "/resources/demo/model/demo-smallcnn.pth";

// max |a − b| ÷ max |b|.
double relativeDifference(const at::Tensor& a, const at::Tensor& b) {
    const at::Tensor x = a.to(torch::kFloat64), y = b.to(torch::kFloat64);
    return (x - y).abs().max().item<double>() / std::max(y.abs().max().item<double>(), 1e-12);
}

// BatchNorm statistics and affine parameters away from their 1/0 defaults, so that folding them
// is not the identity.
void randomiseBatchNorms(NativeNetwork& net) {
    torch::NoGradGuard noGrad;
    torch::manual_seed(7);
    for (auto& m : net.module().modules()) {
        if (auto* bn = m->as<torch::nn::BatchNorm2d>()) {
            bn->running_mean.uniform_(-0.5, 0.5);
            bn->running_var.uniform_(0.5, 2.0);
            bn->weight.uniform_(0.5, 1.5);
            bn->bias.uniform_(-0.3, 0.3);
        }
    }
}

struct Outputs {
    // gradCamTerms: per pixel, the sum of the absolute terms whose signed sum is the map.
    at::Tensor logits, trunk, gradCam, gradCamTerms;
};

// Logits, the activation of `layer` and Grad-CAM's map for class 0 from it, through the backend
// as the CAM code calls it.
Outputs outputsOf(ModelBackend& backend, const at::Tensor& x, const std::string& layer,
                  bool plain) {
    setPlainForward(plain);
    Outputs o;
    o.logits = backend.forward(x).clone();
    o.logits = backend.forward(x).clone();  // TorchScript optimises on a second forward
    o.logits = backend.forward(x).clone();
    o.trunk = backend.head(x, layer).detach().clone();
    // The head as Explainer takes it: no copy (it must be an ordinary tensor, not one made in
    // inference mode).
    at::Tensor activation = backend.head(x, layer).detach().requires_grad_(true);
    o.trunk = activation.detach().clone();
    const at::Tensor out = backend.tail(x, activation, layer);
    try {
        out.select(1, 0).sum().backward();
    } catch (const c10::Error& e) {
        qFatal("backward: %s", e.what_without_backtrace());
    }
    // Grad-CAM's map: ReLU of the activation weighted by the spatial mean of the gradient.
    // (Single gradient elements may differ more: an activation within 1e-6 of zero can switch a
    // ReLU in the tail either way.)
    const at::Tensor weights = activation.grad().mean({2, 3}, /*keepdim=*/true);
    o.gradCam = torch::relu((weights * o.trunk).sum(1));
    o.gradCamTerms = (weights.abs() * o.trunk.abs()).sum(1);
    setPlainForward(false);
    return o;
}

void compare(const Outputs& fast, const Outputs& plain, double tolerance = 1e-4) {
    QCOMPARE(fast.logits.sizes().vec(), plain.logits.sizes().vec());
    QCOMPARE(fast.trunk.sizes().vec(), plain.trunk.sizes().vec());
    const double logits = relativeDifference(fast.logits, plain.logits);
    const double trunk = relativeDifference(fast.trunk, plain.trunk);
    // Grad-CAM's map is a sum of terms of both signs: where they cancel, the map's maximum can be
    // far below them and a 2e-6 change of the activations a 2e-3 change of the map (seen on
    // random weights in 1 of ~10 runs). The error is held to the size of the terms; a wrong
    // fold moves the map by the terms themselves.
    // (The terms' sum bounds the map: ReLU of their signed sum.)
    const double mapScale = std::max(plain.gradCamTerms.max().item<double>(), 1e-12);
    const double gradient = (fast.gradCam - plain.gradCam).abs().max().item<double>() / mapScale;
    qInfo("relative differences: logits %.2e, trunk %.2e, Grad-CAM map (of its terms) %.2e", logits,
          trunk, gradient);
    QVERIFY2(logits <= tolerance, qPrintable(QString::number(logits)));
    QVERIFY2(trunk <= tolerance, qPrintable(QString::number(trunk)));
    QVERIFY2(gradient <= tolerance, qPrintable(QString::number(gradient)));
}

// Overwrites one convolution weight in place through namedParameters, as the randomisation check
// does; returns its name.
std::string perturbFirstConvolution(ModelBackend& backend) {
    torch::NoGradGuard noGrad;
    for (auto& [name, p] : backend.namedParameters()) {
        if (p.dim() == 4) {
            p.mul_(-1.5);
            return name;
        }
    }
    return {};
}

}  // namespace

class FusedForwardTest : public QObject {
    Q_OBJECT

    void checkNative(const std::string& architecture, int side, const std::string& layer) {
        torch::manual_seed(11);  // the weights' initialisation, so that a failure reproduces
        auto net = makeNativeNetwork(architecture, 3);
        randomiseBatchNorms(*net);
        auto backend = makeNativeBackend("test.pth", net, "cpu", side, side);
        torch::manual_seed(3);
        const at::Tensor x = torch::randn({4, 3, side, side});
        const Outputs plain = outputsOf(*backend, x, layer, true);
        const Outputs fast = outputsOf(*backend, x, layer, false);
        compare(fast, plain);
        // The plain path is what the network's own run() gives.
        {
            torch::NoGradGuard noGrad;
            QVERIFY(relativeDifference(plain.logits, net->run(x, 0, net->stepCount())) == 0.0);
        }

        // Weights changed in place: the folded ones follow.
        QVERIFY(!perturbFirstConvolution(*backend).empty());
        const Outputs changedPlain = outputsOf(*backend, x, layer, true);
        QVERIFY(relativeDifference(changedPlain.logits, plain.logits) > 1e-2);
        compare(outputsOf(*backend, x, layer, false), changedPlain);
    }

private slots:
    void resnet18() { checkNative("resnet18", 96, "layer3"); }
    void smallCnn() { checkNative("smallcnn", 64, "block3"); }

    void torchScript() {
        for (const char* file : {"resnet18.traced.pt", "smallcnn.scripted.pt"}) {
            const auto model = Model::open(ref(file).toStdString());
            const int side = model->spec().inputHeight;
            torch::manual_seed(5);
            const at::Tensor x = torch::randn({2, 3, side, model->spec().inputWidth});
            const std::string layer = model->defaultTargetLayer();
            ModelBackend& backend = model->backend();
            const Outputs plain = outputsOf(backend, x, layer, true);
            compare(outputsOf(backend, x, layer, false), plain);
            // The fast path really ran: the frozen, optimised forward.
            QVERIFY2(torchScriptOptimised(backend).forward, file);
            QVERIFY(!perturbFirstConvolution(backend).empty());
            const Outputs changedPlain = outputsOf(backend, x, layer, true);
            QVERIFY(relativeDifference(changedPlain.logits, plain.logits) > 1e-2);
            compare(outputsOf(backend, x, layer, false), changedPlain);
            QVERIFY2(torchScriptOptimised(backend).forward, file);
        }
    }

    // Probabilities of the demo model through Model::logits: the same on both paths.
    void demoProbabilities() {
        const auto model = Model::open(kDemoModel);
        const int h = model->spec().inputHeight, w = model->spec().inputWidth;
        FloatTensor batch({8, 3, h, w});
        std::mt19937 rng(11);
        std::normal_distribution<float> normal;
        for (float& v : batch.data) v = normal(rng);
        setPlainForward(true);
        const auto plain = model->probabilities(model->logits(batch));
        setPlainForward(false);
        const auto fast = model->probabilities(model->logits(batch));
        double worst = 0;
        for (std::size_t i = 0; i < plain.size(); ++i)
            for (std::size_t k = 0; k < plain[i].size(); ++k)
                worst = std::max(worst, double(std::abs(plain[i][k] - fast[i][k])));
        qInfo("largest probability difference %.2e", worst);
        QVERIFY(worst <= 1e-5);
    }
};

QTEST_GUILESS_MAIN(FusedForwardTest)
#include "fused_forward_test.moc"
