#include "train/Metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>

namespace lucida {

namespace {

// sklearn's roc_curve (drop_intermediate=True): one point per distinct score, descending, with
// collinear points dropped and (0, 0) prepended at threshold max + 1 (sklearn 1.2). Empty when
// either class is missing (the rates are undefined).
std::vector<RocPoint> rocCurve(const std::vector<double>& scores,
                               const std::vector<char>& positive) {
    const std::size_t n = scores.size();
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });
    // Cumulative counts at the last sample of each run of equal scores.
    std::vector<double> fps, tps, thresholds;
    double tp = 0, fp = 0;
    for (std::size_t k = 0; k < n; ++k) {
        const std::size_t i = order[k];
        (positive[i] ? tp : fp) += 1;
        if (k + 1 == n || scores[order[k + 1]] != scores[i]) {
            fps.push_back(fp);
            tps.push_back(tp);
            thresholds.push_back(scores[i]);
        }
    }
    if (tp == 0 || fp == 0) return {};
    std::vector<std::size_t> keep;
    for (std::size_t j = 0; j < fps.size(); ++j) {
        // Interior points where neither count bends lie on a straight segment.
        const bool interior = fps.size() > 2 && j > 0 && j + 1 < fps.size();
        if (!interior || fps[j - 1] - 2 * fps[j] + fps[j + 1] != 0 ||
            tps[j - 1] - 2 * tps[j] + tps[j + 1] != 0)
            keep.push_back(j);
    }
    std::vector<RocPoint> curve;
    curve.push_back({0.0, 0.0, thresholds.front() + 1});
    for (std::size_t j : keep) curve.push_back({fps[j] / fp, tps[j] / tp, thresholds[j]});
    return curve;
}

double trapezoidArea(const std::vector<RocPoint>& curve) {
    double area = 0;
    for (std::size_t i = 1; i < curve.size(); ++i)
        area += (curve[i].falsePositiveRate - curve[i - 1].falsePositiveRate) *
                (curve[i].truePositiveRate + curve[i - 1].truePositiveRate) / 2;
    return area;
}

// One-vs-rest AUC of `cls`; NaN when the labels lack it or have nothing else.
double oneVsRestAuc(const std::vector<std::vector<float>>& probabilities,
                    const std::vector<int>& labels, int cls, std::vector<RocPoint>* curve) {
    std::vector<double> scores(labels.size());
    std::vector<char> positive(labels.size());
    for (std::size_t i = 0; i < labels.size(); ++i) {
        scores[i] = probabilities[i][static_cast<std::size_t>(cls)];
        positive[i] = labels[i] == cls;
    }
    std::vector<RocPoint> roc = rocCurve(scores, positive);
    const double auc = roc.empty() ? std::numeric_limits<double>::quiet_NaN() : trapezoidArea(roc);
    if (curve) *curve = std::move(roc);
    return auc;
}

}  // namespace

ClassificationMetrics computeMetrics(const std::vector<std::vector<float>>& probabilities,
                                     const std::vector<int>& labels, int classCount) {
    if (classCount < 2) throw std::invalid_argument("metrics need at least two classes");
    if (probabilities.size() != labels.size())
        throw std::invalid_argument("metrics: " + std::to_string(probabilities.size()) +
                                    " probability rows for " + std::to_string(labels.size()) +
                                    " labels");
    const auto k = static_cast<std::size_t>(classCount);
    for (std::size_t i = 0; i < labels.size(); ++i) {
        if (probabilities[i].size() != k)
            throw std::invalid_argument("metrics: sample " + std::to_string(i) + " has " +
                                        std::to_string(probabilities[i].size()) +
                                        " probabilities for " + std::to_string(k) + " classes");
        if (labels[i] < 0 || labels[i] >= classCount)
            throw std::invalid_argument("metrics: sample " + std::to_string(i) + " has label " +
                                        std::to_string(labels[i]));
    }

    ClassificationMetrics m;
    m.classCount = classCount;
    m.confusion.assign(k, std::vector<int>(k, 0));
    std::size_t correct = 0;
    for (std::size_t i = 0; i < labels.size(); ++i) {
        // The first maximum, as numpy's argmax.
        const auto& p = probabilities[i];
        const auto predicted = static_cast<int>(std::max_element(p.begin(), p.end()) - p.begin());
        ++m.confusion[static_cast<std::size_t>(labels[i])][static_cast<std::size_t>(predicted)];
        correct += predicted == labels[i];
    }
    m.accuracy = labels.empty() ? 0.0 : double(correct) / double(labels.size());

    m.precision.assign(k, 0.0);
    m.recall.assign(k, 0.0);
    m.f1.assign(k, 0.0);
    for (std::size_t c = 0; c < k; ++c) {
        double predictedAs = 0, actually = 0;
        for (std::size_t o = 0; o < k; ++o) {
            predictedAs += m.confusion[o][c];
            actually += m.confusion[c][o];
        }
        const double tp = m.confusion[c][c];
        if (predictedAs > 0) m.precision[c] = tp / predictedAs;
        if (actually > 0) m.recall[c] = tp / actually;
        const double sum = m.precision[c] + m.recall[c];
        if (sum > 0) m.f1[c] = 2 * m.precision[c] * m.recall[c] / sum;
    }
    const auto mean = [](const std::vector<double>& v) {
        return std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
    };
    m.macroPrecision = mean(m.precision);
    m.macroRecall = mean(m.recall);
    m.macroF1 = mean(m.f1);

    if (classCount == 2) {
        m.rocAuc = oneVsRestAuc(probabilities, labels, 1, &m.roc);
    } else {
        // Macro one-vs-rest: NaN as soon as one class is absent (sklearn refuses these).
        double sum = 0;
        for (int c = 0; c < classCount; ++c) sum += oneVsRestAuc(probabilities, labels, c, nullptr);
        m.rocAuc = sum / classCount;
        // Micro-averaged curve: every (sample, class) pair as one binary decision.
        std::vector<double> scores;
        std::vector<char> positive;
        scores.reserve(labels.size() * k);
        positive.reserve(labels.size() * k);
        for (std::size_t i = 0; i < labels.size(); ++i)
            for (std::size_t c = 0; c < k; ++c) {
                scores.push_back(probabilities[i][c]);
                positive.push_back(labels[i] == static_cast<int>(c));
            }
        m.roc = rocCurve(scores, positive);
    }
    return m;
}

}  // namespace lucida
