"""Test-set metrics, computed by scikit-learn from stored predictions and probabilities.

Kept free of Keras so reports and exports can recompute any number from the
store without a backend; a cell task calls the same function right after a
seed's final model predicts, and the store's migration to schema 5 calls it
for cells scored before the threshold-free, calibration and group metrics.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from imblearn.metrics import geometric_mean_score
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    balanced_accuracy_score,
    brier_score_loss,
    log_loss,
    matthews_corrcoef,
    precision_recall_fscore_support,
    roc_auc_score,
)

ECE_BINS = 15  # equal-width bins of the top-label confidence (Guo et al. 2017)
# Classes grouped by their training-pool count (train + validation, the same rows for every strategy of a seed),
# with the many/medium/few-shot thresholds of Liu et al. 2019 (ImageNet-LT): more than 100, 20 to 100, under 20.
GROUPS = {"head": (101, None), "medium": (20, 100), "tail": (0, 19)}


@dataclass(frozen=True)
class Metric:
    """A summary metric as the report shows it: its name in text and whether a higher value is better."""

    label: str
    higher_is_better: bool = True


SUMMARY = {
    "macro_f1": Metric("macro-F1"),
    "macro_recall": Metric("macro-recall"),
    "macro_precision": Metric("macro-precision"),
    "accuracy": Metric("accuracy"),
    "balanced_accuracy": Metric("balanced accuracy"),
    "mcc": Metric("MCC"),
    "g_mean": Metric("G-mean"),
    "macro_pr_auc": Metric("PR-AUC"),
    "macro_roc_auc": Metric("ROC-AUC"),
    "brier": Metric("Brier", higher_is_better=False),
    "log_loss": Metric("log loss", higher_is_better=False),
    "ece": Metric("ECE", higher_is_better=False),
    "worst_class_recall": Metric("worst-class recall"),
    "worst_class_f1": Metric("worst-class F1"),
    **{
        f"{group}_{name}": Metric(f"{group} {label}")
        for group in GROUPS
        for name, label in (("macro_f1", "macro-F1"), ("macro_recall", "macro-recall"))
    },
}
SUMMARY_METRICS = tuple(SUMMARY)


def score(
    y_true: np.ndarray, y_pred: np.ndarray, proba: np.ndarray, pool_counts: np.ndarray | None
) -> dict[str, float | list[float]]:
    """Summary metrics (floats) and per-class ones (lists indexed by class).

    Every class is scored even if absent from the predictions (`labels=`), so
    a strategy that never predicts a rare class gets 0 for it instead of the
    class silently dropping out of the macro average. A metric undefined on
    this test set (ROC-AUC of a class with no test sample, a group with no
    class) is left out, and the report shows it as n/a.
    """
    num_classes = proba.shape[1]  # pool_counts is None for a cell stored without its class counts
    labels = np.arange(num_classes)
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    found: dict[str, float | list[float]] = {
        "macro_f1": float(f1.mean()),
        "macro_recall": float(recall.mean()),
        "macro_precision": float(precision.mean()),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)),
        "mcc": float(matthews_corrcoef(y_true, y_pred)),
        "g_mean": float(geometric_mean_score(y_true, y_pred, labels=labels, average="multiclass")),
        **probability_scores(y_true, proba),
        "worst_class_recall": float(recall.min()),
        "worst_class_f1": float(f1.min()),
        "precision": precision.tolist(),
        "recall": recall.tolist(),
        "f1": f1.tolist(),
        "support": support.astype(float).tolist(),
    }
    for group, members in class_groups(pool_counts).items() if pool_counts is not None else ():
        if members.size:
            found[f"{group}_macro_f1"] = float(f1[members].mean())
            found[f"{group}_macro_recall"] = float(recall[members].mean())
    return {k: v for k, v in found.items() if not (isinstance(v, float) and np.isnan(v))}


def probability_scores(y_true: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """Threshold-free and calibration scores of the predicted probabilities, over every class.

    PR-AUC is the mean one-vs-rest average precision (a class with no test
    sample scores 0, as in F1; chance is its prevalence, so 1/C on average);
    ROC-AUC the mean one-vs-rest AUC; Brier the multi-class score of Brier
    (1950), sum over classes of the squared error, mean over samples (0 to 2).
    """
    proba = np.asarray(proba, dtype=float)  # float64, as read back from an export: the same ranking as stored
    # Brier and log loss need rows that sum to 1 to float64 precision (the stored float32 softmax is off by ~1e-7);
    # the ranking scores and ECE take the probabilities as stored, so an export recomputes them exactly.
    normalised = proba / proba.sum(axis=1, keepdims=True)
    num_classes = proba.shape[1]
    labels = np.arange(num_classes)
    onehot = np.eye(num_classes)[y_true]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)  # a class absent from test: AP 0, ROC-AUC NaN
        warnings.simplefilter("ignore", UserWarning)
        pr_auc = float(average_precision_score(onehot, proba, average="macro"))
        roc = roc_auc_score(onehot, proba, average=None) if 0 < onehot.sum(0).min() < len(y_true) else [np.nan]
    return {
        "macro_pr_auc": pr_auc,
        "macro_roc_auc": float(np.mean(roc)),
        "brier": float(brier_score_loss(y_true, normalised, labels=labels, scale_by_half=False)),
        "log_loss": float(log_loss(y_true, normalised, labels=labels)),
        "ece": expected_calibration_error(y_true, proba),
    }


def expected_calibration_error(y_true: np.ndarray, proba: np.ndarray, bins: int = ECE_BINS) -> float:
    """Top-label ECE of Guo et al. 2017: |accuracy - confidence| per equal-width confidence bin, weighted by size.

    Written here: scikit-learn's calibration_curve is binary only.
    """
    counts, confidence, correct = reliability_bins(y_true, proba, bins)
    return float(np.abs(correct - confidence).sum() / max(counts.sum(), 1))


def reliability_bins(
    y_true: np.ndarray, proba: np.ndarray, bins: int = ECE_BINS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per equal-width bin of the top-label confidence: samples, summed confidence, summed correct predictions.

    Sums, not means, so bins pool over seeds by adding (the report's reliability diagram).
    """
    confidence = proba.max(axis=1).astype(float)
    correct = (proba.argmax(axis=1) == y_true).astype(float)
    index = np.searchsorted(np.linspace(0, 1, bins + 1)[1:-1], confidence)  # calibration_curve's binning
    return (
        np.bincount(index, minlength=bins).astype(float),
        np.bincount(index, weights=confidence, minlength=bins),
        np.bincount(index, weights=correct, minlength=bins),
    )


def class_groups(pool_counts: np.ndarray) -> dict[str, np.ndarray]:
    """Class indices of each group (GROUPS) by training-pool count."""
    counts = np.asarray(pool_counts)
    return {
        group: np.flatnonzero((counts >= low) & (counts <= (high if high is not None else np.inf)))
        for group, (low, high) in GROUPS.items()
    }


def counted_confusion(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """scikit-learn's confusion matrix (rows true, columns predicted) for labels already in 0..num_classes-1.

    Written by hand for the per-epoch validation pass: confusion_matrix spends
    0.7 ms per call checking and encoding labels, a seventh of a whole JAX
    epoch on digits-lt (5 ms); counting pairs with bincount takes 0.02 ms.
    tests/test_metrics.py holds it to confusion_matrix.
    """
    pairs = np.asarray(y_true, dtype=np.int64) * num_classes + np.asarray(y_pred, dtype=np.int64)
    return np.bincount(pairs, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def validation_scores(matrix: np.ndarray) -> tuple[float, float, np.ndarray]:
    """Macro-F1, macro-recall and per-class recall over every class, as the test score defines them.

    Every class counts, also one absent from the validation fold (it scores 0,
    as in scikit-learn with `labels=` all classes and zero_division=0):
    averaging over the classes present would reward a model for never
    predicting the class a fold lacks, in tuning, early stopping and every
    post-hoc choice. Computed from one confusion matrix because
    scikit-learn's f1_score and recall_score each validate and count the
    labels again (3.5 ms together on 70 samples, a fifth of a small epoch);
    tests/test_metrics.py holds these sums to scikit-learn's values.
    """
    tp = np.diag(matrix).astype(float)
    actual, predicted = matrix.sum(axis=1), matrix.sum(axis=0)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    f1 = np.divide(2 * tp, actual + predicted, out=np.zeros_like(tp), where=actual + predicted > 0)
    return float(f1.mean()), float(recall.mean()), recall
