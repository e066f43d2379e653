// Trainer end to end on small real-format datasets written by the test: learning, cancel and
// resume, bad data, fine-tuning TorchScript, and what it writes.

#include "train/Trainer.h"
#include "model/Model.h"
#include "model/Preprocess.h"
#include "train/BatchLoader.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

#include <filesystem>
#include <random>

namespace {

// Two separable classes: reddish and bluish noisy squares of mixed sizes (the trainer resizes).
void writeColourSet(const QString& root, int perClass, std::uint32_t seed) {
    std::mt19937 rng(seed);
    const struct {
        const char* name;
        cv::Vec3b colour;  // BGR
    } classes[] = {{"blue", {200, 60, 40}}, {"red", {40, 60, 200}}};
    for (const auto& c : classes) {
        QDir().mkpath(root + "/" + c.name);
        for (int i = 0; i < perClass; ++i) {
            const int w = 24 + static_cast<int>(rng() % 40), h = 24 + static_cast<int>(rng() % 40);
            cv::Mat image(h, w, CV_8UC3);
            for (int y = 0; y < h; ++y)
                for (int x = 0; x < w; ++x)
                    for (int k = 0; k < 3; ++k)
                        image.at<cv::Vec3b>(y, x)[k] = cv::saturate_cast<std::uint8_t>(
                            c.colour[k] + static_cast<int>(rng() % 81) - 40);
            cv::imwrite(QString("%1/%2/%3.png").arg(root, c.name).arg(i).toStdString(), image);
        }
    }
}

lucida::TrainOptions smallOptions(const QString& data, const QString& out) {
    lucida::TrainOptions o;
    o.dataDir = data.toStdString();
    o.outDir = out.toStdString();
    o.architecture = "smallcnn";
    o.inputSize = 32;
    o.batchSize = 8;
    o.epochs = 8;
    o.optimizer = "adam";
    o.learningRate = 3e-3;
    o.validationFraction = 0.25;
    o.loaderThreads = 2;
    return o;
}

// Accuracy of a saved model over every image of `root`, read and run as `lucida-cli explain` does.
double accuracyOf(const std::string& modelPath, const QString& root) {
    auto model = lucida::Model::open(modelPath);
    const auto folder = lucida::scanImageFolder(root.toStdString());
    int right = 0;
    for (const auto& item : folder.images) {
        const cv::Mat rgb = lucida::loadTrainingImage(item.path, 32, 32);
        lucida::PixelBuffer buffer(rgb.cols, rgb.rows, lucida::PixelFormat::Rgba8);
        for (int y = 0; y < rgb.rows; ++y)
            for (int x = 0; x < rgb.cols; ++x) {
                auto* p = buffer.row(y) + 4 * x;
                const auto& v = rgb.at<cv::Vec3b>(y, x);
                p[0] = v[0], p[1] = v[1], p[2] = v[2], p[3] = 255;
            }
        const auto input = lucida::preprocess(buffer, model->spec());
        const auto p = model->probabilities(model->logits(input))[0];
        const int predicted = static_cast<int>(std::max_element(p.begin(), p.end()) - p.begin());
        right += predicted == item.label;
    }
    return static_cast<double>(right) / static_cast<double>(folder.images.size());
}

template <typename F>
QString errorOf(F f) {
    try {
        f();
    } catch (const std::exception& e) {
        return QString::fromUtf8(e.what());
    }
    return {};
}

}  // namespace

class TrainerTest : public QObject {
    Q_OBJECT

private slots:
    void initTestCase() { writeColourSet(data_.path(), 16, 1); }

    // A separable set is learnt completely; the outputs open in Model::open and say what they are.
    void learnsSeparableSet() {
        QTemporaryDir out;
        auto o = smallOptions(data_.path(), out.path());
        o.augmentation.horizontalFlip = true;
        lucida::Trainer trainer(o);
        int batches = 0, epochs = 0;
        lucida::TrainCallbacks callbacks;
        callbacks.onBatch = [&](const lucida::BatchProgress& p) {
            ++batches;
            QVERIFY(p.batches == 3 && p.imagesPerSecond > 0);
        };
        callbacks.onEpoch = [&](const lucida::EpochRecord&) { ++epochs; };
        const auto result = trainer.run(callbacks);
        QCOMPARE(result.outcome, lucida::TrainOutcome::Finished);
        QCOMPARE(epochs, 8);
        QCOMPARE(batches, 8 * 3);  // 24 training images, batch 8
        QCOMPARE(result.history.size(), std::size_t(8));
        QVERIFY(result.bestEpoch >= 1);
        QCOMPARE(accuracyOf(result.modelPath, data_.path()), 1.0);
        const auto& last = result.history.back();
        QCOMPARE(last.metrics.confusion.size(), std::size_t(2));
        int validation = 0;
        for (const auto& row : last.metrics.confusion)
            for (int v : row) validation += v;
        QCOMPARE(validation, 8);

        auto model = lucida::Model::open(result.modelPath);
        QCOMPARE(model->spec().classes, (std::vector<std::string>{"blue", "red"}));
        QCOMPARE(model->spec().output, lucida::OutputKind::SigmoidBinary);
        QCOMPARE(model->spec().inputWidth, 32);
        QCOMPARE(QString::fromStdString(model->defaultTargetLayer()), QString("block4"));
        QFile report(QString::fromStdString(result.reportPath));
        QVERIFY(report.open(QIODevice::ReadOnly));
        const auto json = QJsonDocument::fromJson(report.readAll()).object();
        QCOMPARE(json["history"].toArray().size(), 8);
        QCOMPARE(json["train_counts"].toArray()[0].toInt(), 12);
        QCOMPARE(json["validation_counts"].toArray()[1].toInt(), 4);
        QVERIFY(!cv::imread(result.curvesPath).empty());
    }

    // Cancel mid-epoch: a checkpoint is left; resuming from it finishes the run with the earlier
    // epochs kept.
    void cancelAndResume() {
        QTemporaryDir out;
        auto o = smallOptions(data_.path(), out.path());
        o.epochs = 3;
        lucida::Trainer trainer(o);
        lucida::TrainCallbacks callbacks;
        callbacks.onBatch = [&](const lucida::BatchProgress& p) {
            if (p.epoch == 2 && p.batch == 2) trainer.cancel();
        };
        const auto cancelled = trainer.run(callbacks);
        QCOMPARE(cancelled.outcome, lucida::TrainOutcome::Cancelled);
        QCOMPARE(cancelled.history.size(), std::size_t(1));
        QVERIFY(QFile::exists(QString::fromStdString(cancelled.checkpointPath)));
        QVERIFY(QFile::exists(QString::fromStdString(cancelled.modelPath)));  // epoch 1's

        o.resumeFrom = cancelled.checkpointPath;
        lucida::Trainer again(o);
        std::vector<int> epochsRun;
        callbacks.onBatch = {};
        callbacks.onEpoch = [&](const lucida::EpochRecord& r) { epochsRun.push_back(r.epoch); };
        const auto resumed = again.run(callbacks);
        QCOMPARE(resumed.outcome, lucida::TrainOutcome::Finished);
        QCOMPARE(epochsRun, (std::vector<int>{2, 3}));
        QCOMPARE(resumed.history.size(), std::size_t(3));
        QCOMPARE(resumed.history[0].trainLoss, cancelled.history[0].trainLoss);

        // A checkpoint of other classes is refused, naming the file.
        QTemporaryDir other;
        QDir().mkpath(other.path() + "/x");
        QDir().mkpath(other.path() + "/y");
        for (const char* c : {"x", "y"})
            for (int i = 0; i < 2; ++i)
                cv::imwrite(QString("%1/%2/%3.png").arg(other.path(), c).arg(i).toStdString(),
                            cv::Mat(8, 8, CV_8UC3, cv::Scalar(i * 50, 0, 0)));
        auto mismatched = smallOptions(other.path(), out.path() + "/other");
        mismatched.resumeFrom = cancelled.checkpointPath;
        const QString error = errorOf([&] { lucida::Trainer(mismatched).run(); });
        QVERIFY2(error.contains(QString::fromStdString(cancelled.checkpointPath)) &&
                     error.contains("other classes"),
                 qPrintable(error));
    }

    // A corrupt image is skipped with its reason; the run goes on.
    void corruptImageSkipped() {
        QTemporaryDir data, out;
        writeColourSet(data.path(), 6, 2);
        QFile bad(data.path() + "/red/broken.png");
        QVERIFY(bad.open(QIODevice::WriteOnly));
        bad.write("\x89PNG\r\n\x1a\n this is not a png");
        bad.close();
        auto o = smallOptions(data.path(), out.path());
        o.epochs = 1;
        std::vector<std::string> messages;
        lucida::TrainCallbacks callbacks;
        callbacks.onMessage = [&](const std::string& m) { messages.push_back(m); };
        const auto result = lucida::Trainer(o).run(callbacks);
        QCOMPARE(result.skipped.size(), std::size_t(1));
        QVERIFY(result.skipped[0].path.find("broken.png") != std::string::npos);
        QVERIFY(!result.skipped[0].reason.empty());
        QVERIFY(std::any_of(messages.begin(), messages.end(), [](const std::string& m) {
            return m.find("broken.png") != std::string::npos;
        }));
        QCOMPARE(result.outcome, lucida::TrainOutcome::Finished);
    }

    // Data that cannot be trained on is refused with the folder and the reason.
    void badData() {
        QTemporaryDir data, out;
        QDir().mkpath(data.path() + "/only");
        cv::imwrite((data.path() + "/only/a.png").toStdString(), cv::Mat(8, 8, CV_8UC3));
        QString error =
            errorOf([&] { lucida::Trainer(smallOptions(data.path(), out.path())).run(); });
        QVERIFY2(error.contains(data.path()) && error.contains("two classes"), qPrintable(error));

        QDir().mkpath(data.path() + "/empty");
        error = errorOf([&] { lucida::Trainer(smallOptions(data.path(), out.path())).run(); });
        QVERIFY2(error.contains("empty"), qPrintable(error));

        error = errorOf(
            [&] { lucida::Trainer(smallOptions(data.path() + "/missing", out.path())).run(); });
        QVERIFY2(error.contains(data.path() + "/missing"), qPrintable(error));
    }

    // Softmax over two classes, class weights, a step schedule, and early stopping on a set whose
    // labels carry no signal (the validation loss cannot keep improving).
    void softmaxEarlyStop() {
        QTemporaryDir noise, out;
        std::mt19937 rng(5);
        for (const char* c : {"a", "b"}) {
            QDir().mkpath(noise.path() + "/" + c);
            for (int i = 0; i < 16; ++i) {
                cv::Mat image(24, 24, CV_8UC3);
                for (auto it = image.begin<cv::Vec3b>(); it != image.end<cv::Vec3b>(); ++it)
                    *it = cv::Vec3b(rng() % 256, rng() % 256, rng() % 256);
                cv::imwrite(QString("%1/%2/%3.png").arg(noise.path(), c).arg(i).toStdString(),
                            image);
            }
        }
        auto o = smallOptions(noise.path(), out.path());
        o.binaryOutput = "softmax";
        o.classWeights = true;
        o.schedule = "step";
        o.stepEpochs = 1;
        o.stepGamma = 0.5;
        o.epochs = 30;
        o.earlyStoppingPatience = 2;
        const auto result = lucida::Trainer(o).run();
        for (const auto& r : result.history)
            qInfo("epoch %d val loss %.6f", r.epoch, r.validationLoss);
        QCOMPARE(result.outcome, lucida::TrainOutcome::EarlyStopped);
        QVERIFY(result.history.size() < 30);
        const int best = result.bestEpoch;
        QCOMPARE(static_cast<int>(result.history.size()), best + 2);  // patience 2 after the best
        QVERIFY(result.history.size() >= 3);
        QCOMPARE(result.history[1].learningRate, 1.5e-3);  // halved every epoch
        QCOMPARE(result.history[2].learningRate, 7.5e-4);
        auto model = lucida::Model::open(result.modelPath);
        QCOMPARE(model->spec().output, lucida::OutputKind::Softmax);
    }

    // A TorchScript model is fine-tuned as it is (head kept: two classes, one logit) and saved
    // as TorchScript with a sidecar; a Lucida .pth is fine-tuned further with a new head.
    void fineTunes() {
        const QString scripted =
            QString::fromLocal8Bit(qgetenv("LUCIDA_REFERENCE_DIR")) + "/smallcnn.traced.pt";
        QVERIFY2(QFile::exists(scripted), qPrintable(scripted));
        QTemporaryDir out;
        auto o = smallOptions(data_.path(), out.path());
        o.architecture = "file";
        o.baseModel = scripted.toStdString();
        o.inputSize = 64;
        o.epochs = 2;
        const auto result = lucida::Trainer(o).run();
        QVERIFY(result.modelPath.size() > 3 &&
                result.modelPath.substr(result.modelPath.size() - 3) == ".pt");
        auto model = lucida::Model::open(result.modelPath);
        QCOMPARE(model->spec().classes, (std::vector<std::string>{"blue", "red"}));
        QCOMPARE(model->spec().architecture, std::string("torchscript"));

        // A 3-class set on top of a binary Lucida model: fc is replaced.
        QTemporaryDir three, out2, out3;
        writeColourSet(three.path(), 6, 3);
        QDir().mkpath(three.path() + "/green");
        for (int i = 0; i < 6; ++i)
            cv::imwrite(QString("%1/green/%2.png").arg(three.path()).arg(i).toStdString(),
                        cv::Mat(30, 30, CV_8UC3, cv::Scalar(40, 200 - i, 40)));
        auto base = smallOptions(data_.path(), out2.path());
        base.epochs = 1;
        const auto binary = lucida::Trainer(base).run();
        auto tune = smallOptions(three.path(), out3.path());
        tune.architecture = "file";
        tune.baseModel = binary.modelPath;
        tune.epochs = 1;
        std::vector<std::string> messages;
        lucida::TrainCallbacks callbacks;
        callbacks.onMessage = [&](const std::string& m) { messages.push_back(m); };
        const auto tuned = lucida::Trainer(tune).run(callbacks);
        QVERIFY(std::any_of(messages.begin(), messages.end(), [](const std::string& m) {
            return m.find("head replaced") != std::string::npos;
        }));
        auto reopened = lucida::Model::open(tuned.modelPath);
        QCOMPARE(reopened->spec().classCount(), 3);
    }

    // An earlier run's outputs are never replaced unless asked (the error names the file and a
    // free name); overwrite replaces them; the free name skips names with any output.
    void refusesToOverwriteAnEarlierRun() {
        QTemporaryDir out;
        const std::string dir = out.path().toStdString();
        auto o = smallOptions(data_.path(), out.path());
        o.epochs = 1;
        QVERIFY(lucida::existingTrainingOutputs(dir, "model").empty());
        QCOMPARE(lucida::freeModelName(dir, "model"), std::string("model"));
        const auto first = lucida::Trainer(o).run();
        auto bytes = [](const std::string& path) {
            QFile f(QString::fromStdString(path));
            return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
        };
        const QByteArray before = bytes(first.modelPath);
        QVERIFY(!before.isEmpty());
        const auto existing = lucida::existingTrainingOutputs(dir, "model");
        QCOMPARE(existing.front(), first.modelPath);
        QVERIFY(std::find(existing.begin(), existing.end(), first.sidecarPath) != existing.end());
        QCOMPARE(lucida::freeModelName(dir, "model"), std::string("model-2"));

        o.seed = 7;  // other weights, were it to run
        const QString error = errorOf([&] { lucida::Trainer(o).run(); });
        QVERIFY2(error.contains(QString::fromStdString(first.modelPath)) &&
                     error.contains("not replaced") && error.contains("model-2"),
                 qPrintable(error));
        QCOMPARE(bytes(first.modelPath), before);

        o.overwrite = true;
        const auto replaced = lucida::Trainer(o).run();
        QCOMPARE(replaced.modelPath, first.modelPath);
        QVERIFY(bytes(first.modelPath) != before);

        // Any output makes a name taken; a numbered name counts on from its number.
        QFile report(out.path() + "/model-2.report.json");
        QVERIFY(report.open(QIODevice::WriteOnly));
        report.close();
        QCOMPARE(lucida::freeModelName(dir, "model"), std::string("model-3"));
        QCOMPARE(lucida::freeModelName(dir, "model-2"), std::string("model-3"));
        QCOMPARE(lucida::freeModelName(dir, "other"), std::string("other"));
    }

private:
    QTemporaryDir data_;
};

QTEST_GUILESS_MAIN(TrainerTest)
#include "trainer_test.moc"
