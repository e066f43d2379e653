#include "train/TrainingReport.h"

#include "image/FileError.h"
#include "io/AtomicFile.h"

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace lucida {
namespace {

using nlohmann::json;

// JSON has no NaN: an undefined AUC is written as null.
json number(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }
double number(const json& j) { return j.is_null() ? std::nan("") : j.get<double>(); }

json metricsToJson(const ClassificationMetrics& m) {
    json roc = json::array();
    for (const auto& p : m.roc)
        roc.push_back({p.falsePositiveRate, p.truePositiveRate, number(p.threshold)});
    return {{"accuracy", m.accuracy},
            {"confusion", m.confusion},
            {"precision", m.precision},
            {"recall", m.recall},
            {"f1", m.f1},
            {"macro_precision", m.macroPrecision},
            {"macro_recall", m.macroRecall},
            {"macro_f1", m.macroF1},
            {"roc_auc", number(m.rocAuc)},
            {"roc", roc}};
}

ClassificationMetrics metricsFromJson(const json& j) {
    ClassificationMetrics m;
    m.accuracy = j.value("accuracy", 0.0);
    m.confusion = j.value("confusion", std::vector<std::vector<int>>{});
    m.classCount = static_cast<int>(m.confusion.size());
    m.precision = j.value("precision", std::vector<double>{});
    m.recall = j.value("recall", std::vector<double>{});
    m.f1 = j.value("f1", std::vector<double>{});
    m.macroPrecision = j.value("macro_precision", 0.0);
    m.macroRecall = j.value("macro_recall", 0.0);
    m.macroF1 = j.value("macro_f1", 0.0);
    m.rocAuc = j.contains("roc_auc") ? number(j.at("roc_auc")) : std::nan("");
    if (j.contains("roc")) {
        for (const auto& p : j.at("roc"))
            m.roc.push_back({p.at(0).get<double>(), p.at(1).get<double>(), number(p.at(2))});
    }
    return m;
}

json recordToJson(const EpochRecord& r) {
    return {{"epoch", r.epoch},
            {"train_loss", r.trainLoss},
            {"train_accuracy", r.trainAccuracy},
            {"validation_loss", r.validationLoss},
            {"validation_accuracy", r.validationAccuracy},
            {"learning_rate", r.learningRate},
            {"seconds", r.seconds},
            {"images_per_second", r.imagesPerSecond},
            {"loader_wait_seconds", r.loaderWaitSeconds},
            {"backbone_frozen", r.backboneFrozen},
            {"best", r.best},
            {"metrics", metricsToJson(r.metrics)}};
}

const char* outcomeName(TrainOutcome o) {
    switch (o) {
        case TrainOutcome::Finished:
            return "finished";
        case TrainOutcome::EarlyStopped:
            return "early_stopped";
        case TrainOutcome::Cancelled:
            return "cancelled";
    }
    return "?";
}

}  // namespace

std::string historyToJson(const std::vector<EpochRecord>& history) {
    json j = json::array();
    for (const auto& r : history) j.push_back(recordToJson(r));
    return j.dump();
}

std::vector<EpochRecord> historyFromJson(const std::string& text) {
    std::vector<EpochRecord> history;
    for (const auto& j : json::parse(text)) {
        EpochRecord r;
        r.epoch = j.at("epoch").get<int>();
        r.trainLoss = j.at("train_loss").get<double>();
        r.trainAccuracy = j.at("train_accuracy").get<double>();
        r.validationLoss = j.at("validation_loss").get<double>();
        r.validationAccuracy = j.at("validation_accuracy").get<double>();
        r.learningRate = j.at("learning_rate").get<double>();
        r.seconds = j.at("seconds").get<double>();
        r.imagesPerSecond = j.at("images_per_second").get<double>();
        r.loaderWaitSeconds = j.value("loader_wait_seconds", 0.0);
        r.backboneFrozen = j.at("backbone_frozen").get<bool>();
        r.best = j.at("best").get<bool>();
        r.metrics = metricsFromJson(j.at("metrics"));
        history.push_back(std::move(r));
    }
    return history;
}

void writeTrainingReport(const std::string& path, const TrainOptions& o, const TrainResult& result,
                         const std::vector<int>& trainCounts,
                         const std::vector<int>& validationCounts) {
    const auto& a = o.augmentation;
    json options = {{"data", o.dataDir},
                    {"validation_data", o.validationDir},
                    {"validation_fraction", o.validationFraction},
                    {"architecture", o.architecture},
                    {"base_model", o.baseModel},
                    {"init_weights", o.initWeights},
                    {"input_size", o.inputSize},
                    {"binary_output", o.binaryOutput},
                    {"freeze_backbone_epochs", o.freezeBackboneEpochs},
                    {"epochs", o.epochs},
                    {"batch_size", o.batchSize},
                    {"optimizer", o.optimizer},
                    {"learning_rate", o.learningRate},
                    {"weight_decay", o.weightDecay},
                    {"schedule", o.schedule},
                    {"step_epochs", o.stepEpochs},
                    {"step_gamma", o.stepGamma},
                    {"augmentation",
                     {{"horizontal_flip", a.horizontalFlip},
                      {"vertical_flip", a.verticalFlip},
                      {"rotate90", a.rotate90},
                      {"crop_scale_min", a.cropScaleMin},
                      {"brightness", a.brightness},
                      {"contrast", a.contrast},
                      {"saturation", a.saturation},
                      {"hue", a.hue},
                      {"he_sigma", a.heSigma},
                      {"he_bias", a.heBias}}},
                    {"class_weights", o.classWeights},
                    {"early_stopping_patience", o.earlyStoppingPatience},
                    {"min_improvement", o.minImprovement},
                    {"seed", o.seed},
                    {"resume_from", o.resumeFrom}};
    json skipped = json::array();
    for (const auto& s : result.skipped)
        skipped.push_back({{"path", s.path}, {"reason", s.reason}});
    json report = {{"outcome", outcomeName(result.outcome)},
                   {"device", result.device},
                   {"classes", result.classes},
                   {"train_counts", trainCounts},
                   {"validation_counts", validationCounts},
                   {"skipped", skipped},
                   {"best_epoch", result.bestEpoch},
                   {"model", result.bestEpoch ? result.modelPath : ""},
                   {"sidecar", result.bestEpoch ? result.sidecarPath : ""},
                   {"checkpoint", result.checkpointPath},
                   {"options", options},
                   {"history", json::parse(historyToJson(result.history))}};
    writeFileAtomically(path, report.dump(2) + "\n");
}

void writeTrainingCurves(const std::string& path, const std::vector<EpochRecord>& history) {
    // Two panels side by side: loss, accuracy; train blue, validation orange (as the live charts).
    const int panelW = 520, panelH = 360, margin = 50;
    cv::Mat canvas(panelH, 2 * panelW, CV_8UC3, cv::Scalar(255, 255, 255));
    auto bgr = [](unsigned rgb) {
        return cv::Scalar(rgb & 0xff, (rgb >> 8) & 0xff, (rgb >> 16) & 0xff);
    };
    const cv::Scalar train = bgr(kTrainCurveRgb), validation = bgr(kValidationCurveRgb),
                     bestColour = bgr(kBestEpochRgb), axis(60, 60, 60), grid(225, 225, 225);
    const int n = static_cast<int>(history.size());
    for (int panel = 0; panel < 2; ++panel) {
        const bool loss = panel == 0;
        const int x0 = panel * panelW + margin, x1 = (panel + 1) * panelW - 20;
        const int y0 = 40, y1 = panelH - margin;
        double top = 1.0;
        if (loss) {
            top = 0;
            for (const auto& r : history) top = std::max({top, r.trainLoss, r.validationLoss});
            top = top > 0 ? top * 1.1 : 1.0;
        }
        auto px = [&](int epoch) {
            return n <= 1 ? (x0 + x1) / 2 : x0 + (x1 - x0) * (epoch - 1) / (n - 1);
        };
        auto py = [&](double v) {
            return y1 - static_cast<int>(std::lround((y1 - y0) * std::clamp(v / top, 0.0, 1.0)));
        };
        for (int t = 0; t <= 4; ++t) {
            const double v = top * t / 4;
            cv::line(canvas, {x0, py(v)}, {x1, py(v)}, grid, 1);
            char label[32];
            std::snprintf(label, sizeof label, loss ? "%.2f" : "%.0f%%", loss ? v : 100 * v);
            cv::putText(canvas, label, {x0 - 46, py(v) + 4}, cv::FONT_HERSHEY_SIMPLEX, 0.38, axis,
                        1, cv::LINE_AA);
        }
        cv::rectangle(canvas, {x0, y0}, {x1, y1}, axis, 1);
        // Epoch ticks with their numbers.
        for (int epoch = 1; epoch <= std::max(n, 1); epoch += epochTickStep(n)) {
            cv::line(canvas, {px(epoch), y1}, {px(epoch), y1 + 5}, axis, 1);
            const std::string label = std::to_string(epoch);
            int baseline = 0;
            const cv::Size size =
                cv::getTextSize(label, cv::FONT_HERSHEY_SIMPLEX, 0.38, 1, &baseline);
            cv::putText(canvas, label, {px(epoch) - size.width / 2, y1 + 18},
                        cv::FONT_HERSHEY_SIMPLEX, 0.38, axis, 1, cv::LINE_AA);
        }
        cv::putText(canvas, loss ? "loss" : "accuracy", {x0, y0 - 14}, cv::FONT_HERSHEY_SIMPLEX,
                    0.6, axis, 1, cv::LINE_AA);
        cv::putText(canvas, "epoch", {(x0 + x1) / 2 - 20, panelH - 8}, cv::FONT_HERSHEY_SIMPLEX,
                    0.45, axis, 1, cv::LINE_AA);
        for (int series = 0; series < 2; ++series) {
            const cv::Scalar colour = series == 0 ? train : validation;
            std::vector<cv::Point> points;
            for (const auto& r : history) {
                const double v = loss ? (series == 0 ? r.trainLoss : r.validationLoss)
                                      : (series == 0 ? r.trainAccuracy : r.validationAccuracy);
                points.push_back({px(r.epoch), py(v)});
            }
            if (points.size() > 1) cv::polylines(canvas, points, false, colour, 2, cv::LINE_AA);
            for (const auto& p : points) cv::circle(canvas, p, 3, colour, cv::FILLED, cv::LINE_AA);
        }
        // The saved model is the last epoch marked best: a dashed line, labelled.
        for (auto r = history.rbegin(); r != history.rend(); ++r) {
            if (!r->best) continue;
            const int x = px(r->epoch);
            for (int y = y0; y < y1; y += 8)
                cv::line(canvas, {x, y}, {x, std::min(y + 4, y1)}, bestColour, 1, cv::LINE_8);
            const std::string label = "best: epoch " + std::to_string(r->epoch);
            int baseline = 0;
            const cv::Size size =
                cv::getTextSize(label, cv::FONT_HERSHEY_SIMPLEX, 0.4, 1, &baseline);
            const int lx = x + 4 + size.width <= x1 ? x + 4 : x - 4 - size.width;
            cv::putText(canvas, label, {lx, y0 + 14}, cv::FONT_HERSHEY_SIMPLEX, 0.4, bestColour, 1,
                        cv::LINE_AA);
            break;
        }
        cv::putText(canvas, "train", {x1 - 150, y0 - 14}, cv::FONT_HERSHEY_SIMPLEX, 0.45, train, 1,
                    cv::LINE_AA);
        cv::putText(canvas, "validation", {x1 - 95, y0 - 14}, cv::FONT_HERSHEY_SIMPLEX, 0.45,
                    validation, 1, cv::LINE_AA);
    }
    writeFileAtomically(path, [&](const std::string& temporary) {
        if (!cv::imwrite(temporary, canvas)) throw FileError(path, "cannot write the curves image");
    });
}

}  // namespace lucida
