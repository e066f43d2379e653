"""Writes scikit-learn's classification metrics for random cases, for train_data_test.

    /usr/bin/python3 tests/reference/make_metrics_reference.py OUTDIR

Writes OUTDIR/metrics_reference.json: {"sklearn": version, "cases": [...]}, each case with its
inputs (labels, float32 probabilities written exactly as float64) and sklearn's confusion_matrix,
precision_recall_fscore_support (zero_division=0, per class and macro), accuracy_score,
roc_auc_score (binary: class 1; multi-class: multi_class="ovr", average="macro"; null where sklearn
refuses, i.e. a class is absent) and roc_curve (binary: class 1; multi-class: micro-averaged over
the binarised labels; null where undefined). Needs Debian's python3-sklearn and python3-numpy.
"""
import json
import os
import sys

import numpy as np
import sklearn
from sklearn.metrics import (accuracy_score, confusion_matrix, precision_recall_fscore_support,
                             roc_auc_score, roc_curve)
from sklearn.preprocessing import label_binarize


def normalised(p):
    """Rows summing to 1, stored as float32 (what the C++ side gets)."""
    p = np.asarray(p, dtype=np.float64)
    return (p / p.sum(axis=1, keepdims=True)).astype(np.float32)


def curve(y, scores):
    if len(np.unique(y)) < 2:
        return None
    fpr, tpr, thr = roc_curve(y, scores, pos_label=1, drop_intermediate=True)
    thr = thr.astype(np.float64)
    if np.isinf(thr[0]):  # sklearn >= 1.3 starts at inf; 1.2 (Debian 12) at max + 1
        thr[0] = thr[1] + 1
    return {"fpr": fpr.tolist(), "tpr": tpr.tolist(), "thresholds": thr.tolist()}


def case(name, labels, probs):
    labels = np.asarray(labels, dtype=np.int64)
    probs = normalised(probs)
    scores = probs.astype(np.float64)  # the exact float32 values, as the C++ side sees them
    k = probs.shape[1]
    classes = list(range(k))
    predicted = scores.argmax(axis=1)
    p, r, f, _ = precision_recall_fscore_support(labels, predicted, labels=classes,
                                                 zero_division=0)
    mp, mr, mf, _ = precision_recall_fscore_support(labels, predicted, labels=classes,
                                                    average="macro", zero_division=0)
    if k == 2:
        auc = roc_auc_score(labels, scores[:, 1]) if len(np.unique(labels)) == 2 else None
        roc = curve(labels, scores[:, 1])
    else:
        try:
            auc = roc_auc_score(labels, scores, multi_class="ovr", average="macro")
        except ValueError:  # a class absent from the labels
            auc = None
        roc = curve(label_binarize(labels, classes=classes).ravel(), scores.ravel())
    return {
        "name": name,
        "classCount": k,
        "labels": labels.tolist(),
        "probabilities": scores.tolist(),
        "confusion": confusion_matrix(labels, predicted, labels=classes).tolist(),
        "precision": p.tolist(),
        "recall": r.tolist(),
        "f1": f.tolist(),
        "macroPrecision": float(mp),
        "macroRecall": float(mr),
        "macroF1": float(mf),
        "accuracy": float(accuracy_score(labels, predicted)),
        "rocAuc": None if auc is None else float(auc),
        "roc": roc,
    }


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(20240611)
    cases = []

    # Binary, scores on a coarse grid: many ties, including between the classes.
    n = 200
    y = rng.integers(0, 2, n)
    s = np.clip(np.round(0.35 * y + rng.uniform(0, 0.65, n), 1), 0.0, 1.0)
    cases.append(case("binary_ties", y, np.stack([1 - s, s], axis=1)))

    # Binary, continuous scores, unbalanced.
    n = 157
    y = (rng.uniform(size=n) < 0.25).astype(np.int64)
    s = 1 / (1 + np.exp(-(1.2 * y + rng.normal(size=n))))
    cases.append(case("binary_continuous", y, np.stack([1 - s, s], axis=1)))

    # Binary, one class only: AUC and curve undefined.
    y = np.zeros(20, dtype=np.int64)
    s = rng.uniform(size=20)
    cases.append(case("binary_one_class", y, np.stack([1 - s, s], axis=1)))

    # Three classes, softmax of noisy logits.
    n = 300
    y = rng.integers(0, 3, n)
    logits = rng.normal(size=(n, 3)) + 1.5 * np.eye(3)[y]
    e = np.exp(logits)
    cases.append(case("three_class", y, e))

    # Three classes, probabilities on a grid (ties), class 2 never predicted (precision 0/0).
    n = 120
    y = rng.integers(0, 3, n)
    a = np.round(rng.uniform(0.3, 0.7, n), 1)
    b = np.round((1 - a) * rng.uniform(0.5, 0.8, n), 2)
    cases.append(case("three_class_ties", y, np.stack([a, 1 - a - b, np.full(n, 0.05)], axis=1)))

    # Three classes, class 1 absent from the labels: sklearn refuses the AUC.
    n = 60
    y = rng.choice([0, 2], n)
    cases.append(case("three_class_absent", y, rng.dirichlet([1, 1, 1], n)))

    # Four classes, small.
    n = 40
    y = np.arange(n) % 4
    cases.append(case("four_class", y, rng.dirichlet([2, 1, 1, 1], n)))

    path = os.path.join(out_dir, "metrics_reference.json")
    with open(path + ".tmp", "w") as f:
        json.dump({"sklearn": sklearn.__version__, "cases": cases}, f)
    os.replace(path + ".tmp", path)
    print(f"{len(cases)} metric cases (sklearn {sklearn.__version__}) -> {path}")


if __name__ == "__main__":
    main()
