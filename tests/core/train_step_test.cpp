// One optimisation step of Lucida's Trainer against PyTorch's (Debian's python3-torch), and the
// small CNN's forward against its PyTorch twin. References: tests/reference/
// make_train_step_reference.py into $LUCIDA_REFERENCE_DIR/trainstep.

#include "model/Model.h"
#include "model/StateDictReader.h"
#include "train/TrainStep.h"

#include <torch/torch.h>

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>
#include <map>

namespace {

QString referenceDir() {
    return QString::fromLocal8Bit(qgetenv("LUCIDA_REFERENCE_DIR")) + "/trainstep";
}

lucida::FloatTensor readF32(const QString& path, std::vector<std::int64_t> shape) {
    lucida::FloatTensor t(std::move(shape));
    std::ifstream in(path.toStdString(), std::ios::binary);
    in.read(reinterpret_cast<char*>(t.data.data()),
            static_cast<std::streamsize>(t.data.size() * sizeof(float)));
    if (!in) qFatal("cannot read %s", qPrintable(path));
    return t;
}

double maxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
    if (a.size() != b.size()) return 1e30;
    double d = 0;
    for (std::size_t i = 0; i < a.size(); ++i) d = std::max(d, double(std::abs(a[i] - b[i])));
    return d;
}

}  // namespace

class TrainStepTest : public QObject {
    Q_OBJECT

private slots:
    void initTestCase() {
        QFile f(referenceDir() + "/index.json");
        QVERIFY2(f.open(QIODevice::ReadOnly), qPrintable(f.fileName()));
        cases_ = QJsonDocument::fromJson(f.readAll()).array();
        QVERIFY(cases_.size() >= 5);
    }

    void oneStepMatchesPyTorch_data() {
        QTest::addColumn<int>("index");
        for (int i = 0; i < cases_.size(); ++i)
            QTest::newRow(qPrintable(cases_[i].toObject()["name"].toString())) << i;
    }

    // Same initial weights, same batch: the same loss and the same weights after one step.
    void oneStepMatchesPyTorch() {
        QFETCH(int, index);
        const QJsonObject c = cases_[index].toObject();
        const QString name = c["name"].toString();
        std::vector<std::int64_t> shape;
        for (const auto& v : c["input_shape"].toArray()) shape.push_back(v.toInt());
        const auto batch = readF32(referenceDir() + "/" + name + ".input.f32", shape);
        std::vector<int> labels;
        for (const auto& v : c["labels"].toArray()) labels.push_back(v.toInt());

        lucida::TrainOptions options;
        options.optimizer = c["optimizer"].toString().toStdString();
        options.learningRate = c["learning_rate"].toDouble();
        options.weightDecay = c["weight_decay"].toDouble();
        QTemporaryDir tmp;
        const std::string after = tmp.filePath("after.pth").toStdString();
        const double loss =
            lucida::trainOneStep((referenceDir() + "/" + name + ".init.pth").toStdString(), batch,
                                 labels, options, after);
        qInfo("%s: loss %.8f, python %.8f", qPrintable(name), loss, c["loss"].toDouble());
        QVERIFY(std::abs(loss - c["loss"].toDouble()) <= 1e-5);

        const auto ours = lucida::readStateDict(after);
        const auto theirs =
            lucida::readStateDict((referenceDir() + "/" + name + ".after.pth").toStdString());
        std::map<std::string, at::Tensor> byName(theirs.begin(), theirs.end());
        QCOMPARE(ours.size(), theirs.size());
        double worst = 0, moved = 0;
        const auto initial =
            lucida::readStateDict((referenceDir() + "/" + name + ".init.pth").toStdString());
        std::map<std::string, at::Tensor> initialByName(initial.begin(), initial.end());
        for (const auto& [key, tensor] : ours) {
            QVERIFY2(byName.count(key), key.c_str());
            const auto& reference = byName.at(key);
            QCOMPARE(tensor.sizes().vec(), reference.sizes().vec());
            if (!tensor.is_floating_point()) {
                QVERIFY2(tensor.equal(reference), key.c_str());  // num_batches_tracked
                continue;
            }
            worst = std::max(worst, (tensor - reference).abs().max().item<double>());
            moved = std::max(moved, (reference - initialByName.at(key)).abs().max().item<double>());
        }
        qInfo("  max weight difference %.3g (the step moved weights by up to %.3g)", worst, moved);
        QVERIFY(moved > 1e-4);  // the step did something the comparison can see
        QVERIFY(worst <= 1e-5);
    }

    // Model::open reads the small CNN's state_dict and gives PyTorch's eval logits; Python
    // opens what Lucida saves (strict load) and gives Lucida's logits.
    void smallCnnRoundTrip() {
        for (const auto& v : cases_) {
            const QJsonObject c = v.toObject();
            const QString name = c["name"].toString();
            std::vector<std::int64_t> shape;
            for (const auto& s : c["input_shape"].toArray()) shape.push_back(s.toInt());
            const int outputs = c["outputs"].toInt();
            const auto batch = readF32(referenceDir() + "/" + name + ".input.f32", shape);

            QTemporaryDir tmp;
            QFile::copy(referenceDir() + "/" + name + ".init.pth", tmp.filePath("m.pth"));
            QFile sidecar(tmp.filePath("m.json"));
            QVERIFY(sidecar.open(QIODevice::WriteOnly));
            sidecar.write(QString(outputs == 1
                                      ? "{\"input_size\": [%1, %1], \"output\": \"sigmoid\", "
                                        "\"classes\": [\"neg\", \"pos\"]}"
                                      : "{\"input_size\": [%1, %1], \"classes\": [\"a\", "
                                        "\"b\", \"c\"]}")
                              .arg(shape[2])
                              .toUtf8());
            sidecar.close();
            auto model = lucida::Model::open(tmp.filePath("m.pth").toStdString());
            QCOMPARE(QString::fromStdString(model->spec().architecture),
                     c["architecture"].toString());
            const auto logits = model->logits(batch);
            const auto reference =
                readF32(referenceDir() + "/" + name + ".eval_logits.f32", {shape[0], outputs});
            QVERIFY2(maxAbsDiff(logits.data, reference.data) <= 1e-4, qPrintable(name));

            // Lucida's saved file (after one step) opened by PyTorch.
            lucida::TrainOptions options;
            options.optimizer = "adam";
            const QString after = tmp.filePath("after.pth");
            std::vector<int> labels(static_cast<std::size_t>(shape[0]), 0);
            lucida::trainOneStep(tmp.filePath("m.pth").toStdString(), batch, labels, options,
                                 after.toStdString());
            QFile::remove(tmp.filePath("m.pth"));
            QFile::rename(after, tmp.filePath("m.pth"));
            auto reopened = lucida::Model::open(tmp.filePath("m.pth").toStdString());
            const auto ours = reopened->logits(batch);
            QProcess python;
            QStringList args{
                QStringLiteral(LUCIDA_SOURCE_DIR "/tests/reference/load_lucida_pth.py"),
                c["architecture"].toString(), QString::number(outputs), tmp.filePath("m.pth"),
                referenceDir() + "/" + name + ".input.f32"};
            for (auto s : shape) args << QString::number(s);
            args << tmp.filePath("py.f32");
            python.start("/usr/bin/python3", args);
            QVERIFY(python.waitForFinished(120000));
            QVERIFY2(python.exitCode() == 0, python.readAllStandardError().constData());
            const auto pythons = readF32(tmp.filePath("py.f32"), {shape[0], outputs});
            QVERIFY2(maxAbsDiff(ours.data, pythons.data) <= 1e-4, qPrintable(name));
        }
    }

private:
    QJsonArray cases_;
};

QTEST_GUILESS_MAIN(TrainStepTest)
#include "train_step_test.moc"
