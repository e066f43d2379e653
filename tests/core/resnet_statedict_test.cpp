// Native torchvision ResNets from torch.save'd state_dicts against Python's outputs.
// The references are made by tests/reference/make_resnet_pth.py into
// $LUCIDA_REFERENCE_DIR/statedict.

#include "model/ModelError.h"
#include "model/StateDictModel.h"
#include "model/StateDictReader.h"

#include <torch/torch.h>

#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>
#include <random>
#include <unordered_set>

using lucida::ModelError;
using lucida::ModelSpec;

namespace {

constexpr double kTolerance = 1e-4;  // max abs difference to Python's float32 results

double maxAbsDiff(const at::Tensor& a, const at::Tensor& b) {
    return (a.detach().cpu() - b.detach().cpu()).abs().max().item<double>();
}

// Leaves of the graph behind `output` that would accumulate a gradient.
int gradAccumulators(const at::Tensor& output) {
    std::unordered_set<torch::autograd::Node*> seen;
    std::vector<torch::autograd::Node*> pending{output.grad_fn().get()};
    int count = 0;
    while (!pending.empty()) {
        auto* node = pending.back();
        pending.pop_back();
        if (!node || !seen.insert(node).second) continue;
        if (node->name().find("AccumulateGrad") != std::string::npos) ++count;
        for (const auto& edge : node->next_edges()) pending.push_back(edge.function.get());
    }
    return count;
}

void writeBytes(const QString& path, const std::vector<char>& bytes) {
    std::ofstream out(path.toStdString(), std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Runs `open`, expects a ModelError naming `path` whose reason contains `needle`.
template <typename F>
void expectModelError(F open, const QString& path, const QString& needle) {
    try {
        open();
        QFAIL("no ModelError");
    } catch (const ModelError& e) {
        qInfo("%s", e.what());
        QCOMPARE(QString::fromStdString(e.path()), path);
        QVERIFY2(QString::fromStdString(e.reason()).contains(needle), e.what());
    }
}

}  // namespace

class ResNetStateDictTest : public QObject {
    Q_OBJECT

private:
    QString dir_;
    QJsonObject index_;
    at::Tensor input_;

    QString file(const QString& name) const { return dir_ + "/" + name; }

    at::Tensor readF32(const QJsonObject& entry) const {
        QFile f(file(entry["file"].toString()));
        if (!f.open(QIODevice::ReadOnly)) return {};
        const QByteArray bytes = f.readAll();
        std::vector<std::int64_t> shape;
        for (const auto& d : entry["shape"].toArray()) shape.push_back(d.toInteger());
        auto t = torch::empty(shape, torch::kFloat);
        if (static_cast<std::size_t>(bytes.size()) != t.numel() * sizeof(float)) return {};
        std::memcpy(t.data_ptr<float>(), bytes.constData(), bytes.size());
        return t;
    }

    std::unique_ptr<lucida::ModelBackend> open(const QString& name, ModelSpec& spec) const {
        return lucida::makeStateDictBackend(file(name).toStdString(), spec);
    }

private slots:
    void initTestCase() {
        at::set_num_threads(2);
        const QString root = qEnvironmentVariable("LUCIDA_REFERENCE_DIR");
        if (root.isEmpty()) QSKIP("LUCIDA_REFERENCE_DIR not set (make_resnet_pth.py OUTDIR)");
        dir_ = root + "/statedict";
        QFile f(file("index.json"));
        QVERIFY2(f.open(QIODevice::ReadOnly), qPrintable(f.fileName()));
        index_ = QJsonDocument::fromJson(f.readAll()).object();
        input_ = readF32(index_["input"].toObject());
        QVERIFY(input_.defined());
    }

    void matchesPython_data() {
        QTest::addColumn<QString>("name");
        for (const auto& name : {"resnet18", "resnet50", "resnet18_binary"}) {
            QTest::newRow(name) << QString(name);
        }
    }

    void matchesPython() {
        QFETCH(QString, name);
        const QJsonObject ref = index_["models"].toObject()[name].toObject();
        ModelSpec spec;
        auto model = open(ref["file"].toString(), spec);
        QCOMPARE(QString::fromStdString(spec.architecture), ref["architecture"].toString());
        const int outputs = ref["outputs"].toInt();
        QCOMPARE(spec.output == lucida::OutputKind::SigmoidBinary, outputs == 1);
        QCOMPARE(spec.classes.size(), outputs == 1 ? std::size_t{2} : std::size_t(outputs));
        QVERIFY(!spec.notices.empty());

        const auto logits = model->forward(input_);
        const double logitDiff = maxAbsDiff(logits, readF32(ref["logits"].toObject()));
        qInfo("%s logits max |diff| %.3g", qPrintable(name), logitDiff);
        QVERIFY(logitDiff <= kTolerance);
        QVERIFY(!logits.requires_grad());  // frozen parameters, input without grad

        const auto layer4 = model->head(input_, "layer4");
        QVERIFY(!layer4.requires_grad());
        const double layer4Diff = maxAbsDiff(layer4, readF32(ref["layer4"].toObject()));
        qInfo("%s layer4 max |diff| %.3g", qPrintable(name), layer4Diff);
        QVERIFY(layer4Diff <= kTolerance);

        for (const char* layer : {"layer4", "layer3", "layer2.1", "layer1.0"}) {
            auto activation = model->head(input_, layer).requires_grad_(true);
            const auto out = model->tail(input_, activation, layer);
            QVERIFY2(maxAbsDiff(out, logits) <= 1e-5, layer);
            // Autograd reaches the activation and no parameter: it is the graph's only leaf.
            QCOMPARE(gradAccumulators(out), 1);
            out.select(1, 0).sum().backward();
            QVERIFY(activation.grad().defined());
            QVERIFY(activation.grad().abs().sum().item<double>() > 0);
        }
        QVERIFY(!model->linearHeadWeights().requires_grad());
        QCOMPARE(model->linearHeadWeights().size(0), outputs);
        QVERIFY(!model->linearHeadWeights().grad().defined());
    }

    void layers() {
        ModelSpec spec;
        auto model = open("resnet50.pth", spec);
        const auto layers = model->layers();
        QCOMPARE(layers.size(), std::size_t{4 + 3 + 4 + 6 + 3});
        QCOMPARE(QString::fromStdString(layers.front().name), QString("layer1"));
        QCOMPARE(QString::fromStdString(layers.front().kind), QString("Sequential"));
        QCOMPARE(QString::fromStdString(layers[1].name), QString("layer1.0"));
        QCOMPARE(QString::fromStdString(layers[1].kind), QString("Bottleneck"));
        QCOMPARE(layers[1].outputShape, (std::vector<std::int64_t>{1, 256, 56, 56}));
        QCOMPARE(QString::fromStdString(layers.back().name), QString("layer4.2"));
        const auto layer4 = std::find_if(layers.begin(), layers.end(),
                                         [](const auto& l) { return l.name == "layer4"; });
        QVERIFY(layer4 != layers.end());
        QCOMPARE(layer4->outputShape, (std::vector<std::int64_t>{1, 2048, 7, 7}));

        ModelSpec small;
        small.inputWidth = small.inputHeight = 64;
        QCOMPARE(open("resnet18.pth", small)->layers().back().outputShape,
                 (std::vector<std::int64_t>{1, 512, 2, 2}));
    }

    void unknownLayer() {
        ModelSpec spec;
        auto model = open("resnet18.pth", spec);
        expectModelError([&] { model->head(input_, "layer5"); }, file("resnet18.pth"),
                         "valid layers: layer1, layer1.0, layer1.1, layer2,");
    }

    void legacyFormat() {
        const auto zip = lucida::readStateDict(file("resnet18.pth").toStdString());
        const auto legacy = lucida::readStateDict(file("resnet18_legacy.pth").toStdString());
        QCOMPARE(legacy.size(), zip.size());
        for (std::size_t i = 0; i < zip.size(); ++i) {
            QCOMPARE(legacy[i].first, zip[i].first);
            QVERIFY2(torch::equal(legacy[i].second, zip[i].second), zip[i].first.c_str());
        }
        QCOMPARE(zip.front().first, std::string("conv1.weight"));
        QCOMPARE(zip.back().first, std::string("fc.bias"));
    }

    void randomBytes() {
        QTemporaryDir tmp;
        const QString path = tmp.filePath("random.pth");
        std::mt19937 rng(7);
        std::vector<char> bytes(4096);
        for (auto& b : bytes) b = static_cast<char>(rng());
        writeBytes(path, bytes);
        ModelSpec spec;
        expectModelError([&] { lucida::makeStateDictBackend(path.toStdString(), spec); }, path,
                         "not a PyTorch file");
        bytes[0] = '\x80';  // looks like a pickle, is not one
        writeBytes(path, bytes);
        expectModelError([&] { lucida::makeStateDictBackend(path.toStdString(), spec); }, path,
                         "not a PyTorch file");
    }

    void truncated() {
        QTemporaryDir tmp;
        for (const char* name : {"resnet18.pth", "resnet18_legacy.pth"}) {
            QFile f(file(name));
            QVERIFY(f.open(QIODevice::ReadOnly));
            const QByteArray all = f.readAll();
            const QString path = tmp.filePath(name);
            writeBytes(path, std::vector<char>(all.begin(), all.begin() + all.size() / 2));
            ModelSpec spec;
            expectModelError([&] { lucida::makeStateDictBackend(path.toStdString(), spec); }, path,
                             "truncated");
        }
    }

    void missingFile() {
        ModelSpec spec;
        expectModelError([&] { open("no-such-file.pth", spec); }, file("no-such-file.pth"),
                         "cannot open");
    }

    void missingKey() {
        ModelSpec spec;
        expectModelError([&] { open("resnet18_missing_key.pth", spec); },
                         file("resnet18_missing_key.pth"),
                         "unknown architecture: resnet18 needs layer2.1.conv2.weight");
    }

    void sidecarMismatch() {
        ModelSpec spec;
        spec.classes = {"benign", "malignant"};
        expectModelError([&] { open("resnet18.pth", spec); }, file("resnet18.pth"),
                         "head has 3 outputs but the sidecar lists 2 classes");
        ModelSpec binary;
        binary.output = lucida::OutputKind::SigmoidBinary;
        expectModelError([&] { open("resnet18.pth", binary); }, file("resnet18.pth"),
                         "head has 3 outputs");
        ModelSpec named;
        named.classes = {"a", "b", "c"};
        open("resnet18.pth", named);
        QVERIFY(named.notices.empty());
    }
};

QTEST_APPLESS_MAIN(ResNetStateDictTest)
#include "resnet_statedict_test.moc"
