#pragma once

#include <vector>

namespace lucida {

struct RocPoint {
    double falsePositiveRate = 0;
    double truePositiveRate = 0;
    double threshold = 0;
};

// Validation metrics of a classifier over one epoch.
struct ClassificationMetrics {
    int classCount = 0;
    double accuracy = 0;
    std::vector<std::vector<int>> confusion;    // [true class][predicted class]
    std::vector<double> precision, recall, f1;  // per class (0 where undefined, as sklearn's
                                                // zero_division=0)
    double macroPrecision = 0, macroRecall = 0, macroF1 = 0;
    // Binary: ROC of the positive class (1). Multi-class: one-vs-rest, macro-averaged AUC, and the
    // curve of class 1 is not meaningful, so `roc` is the micro-averaged curve.
    double rocAuc = 0;  // NaN when a class is absent from the labels
    // sklearn's roc_curve (drop_intermediate): starts at (0, 0) with threshold max score + 1
    // (sklearn 1.2; later versions write inf there). Empty when undefined (a class absent).
    std::vector<RocPoint> roc;
};

// `probabilities[i]` are the class probabilities of sample i (summing to 1), `labels[i]` its true
// class. Predictions are the argmax. AUC as sklearn's roc_auc_score (ties handled by the
// trapezoidal rule over distinct thresholds), multi-class as average="macro", multi_class="ovr".
// Throws std::invalid_argument for fewer than two classes, a label outside 0..classCount-1 or a
// row of the wrong length. No samples: accuracy 0, AUC NaN.
ClassificationMetrics computeMetrics(const std::vector<std::vector<float>>& probabilities,
                                     const std::vector<int>& labels, int classCount);

}  // namespace lucida
