"""Test-set metrics, computed by scikit-learn from stored predictions.

Kept free of Keras so reports and exports can recompute any number from the
store without a backend; the runner calls the same function right after a
seed's final model predicts.
"""

from __future__ import annotations

import numpy as np
from imblearn.metrics import geometric_mean_score
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    matthews_corrcoef,
    precision_recall_fscore_support,
)

SUMMARY_METRICS = (
    "macro_f1",
    "macro_recall",
    "macro_precision",
    "accuracy",
    "balanced_accuracy",
    "mcc",
    "g_mean",
)
PER_CLASS_METRICS = ("precision", "recall", "f1", "support")


def score(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> dict[str, float | list[float]]:
    """Summary metrics (floats) and per-class ones (lists indexed by class).

    Every class is scored even if absent from the predictions (`labels=`), so
    a strategy that never predicts a rare class gets 0 for it instead of the
    class silently dropping out of the macro average.
    """
    labels = np.arange(num_classes)
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    return {
        "macro_f1": float(f1.mean()),
        "macro_recall": float(recall.mean()),
        "macro_precision": float(precision.mean()),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)),
        "mcc": float(matthews_corrcoef(y_true, y_pred)),
        "g_mean": float(geometric_mean_score(y_true, y_pred, labels=labels, average="multiclass")),
        "precision": precision.tolist(),
        "recall": recall.tolist(),
        "f1": f1.tolist(),
        "support": support.astype(float).tolist(),
    }


def confusion(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    return confusion_matrix(y_true, y_pred, labels=np.arange(num_classes))


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
