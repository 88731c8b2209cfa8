import numpy as np
import pytest
from sklearn.metrics import confusion_matrix, f1_score, recall_score

from bench.metrics import counted_confusion, score, validation_scores


def confusion(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """scikit-learn's matrix over every class, the reference for the hand-written counting."""
    return confusion_matrix(y_true, y_pred, labels=np.arange(num_classes))


def test_hand_checked_small_case():
    y_true = np.array([0, 0, 1, 1, 2, 2])
    y_pred = np.array([0, 1, 1, 1, 2, 0])
    result = score(y_true, y_pred, np.eye(3)[y_pred], np.array([120, 40, 5]))
    assert result["recall"] == pytest.approx([0.5, 1.0, 0.5])
    assert result["macro_recall"] == pytest.approx(2 / 3)
    assert result["precision"] == pytest.approx([0.5, 2 / 3, 1.0])
    assert result["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, average="macro"))
    assert result["accuracy"] == pytest.approx(4 / 6)
    assert result["g_mean"] == pytest.approx((0.5 * 1.0 * 0.5) ** (1 / 3))
    assert result["support"] == [2.0, 2.0, 2.0]


def test_a_never_predicted_class_counts_as_zero():
    y_true = np.array([0, 0, 1, 2])
    y_pred = np.array([0, 0, 1, 1])
    result = score(y_true, y_pred, np.eye(3)[y_pred], np.array([30, 30, 30]))
    assert result["recall"][2] == 0.0
    assert result["macro_recall"] == pytest.approx(recall_score(y_true, y_pred, average="macro"))


def test_confusion_has_every_class():
    assert counted_confusion(np.array([0, 1]), np.array([0, 0]), 3).shape == (3, 3)


@pytest.mark.parametrize("case", range(50))
def test_counted_confusion_equals_scikit_learns(case):
    """Random labels, with classes missing from y_true, y_pred or both."""
    rng = np.random.default_rng(case)
    num_classes = int(rng.integers(2, 12))
    present = rng.choice(num_classes, size=int(rng.integers(1, num_classes + 1)))
    y_true = rng.choice(present, size=int(rng.integers(1, 80)))
    y_pred = rng.integers(0, num_classes, size=len(y_true))
    counted = counted_confusion(y_true, y_pred, num_classes)
    assert counted.shape == (num_classes, num_classes)
    np.testing.assert_array_equal(counted, confusion(y_true, y_pred, num_classes))


@pytest.mark.parametrize("case", range(200))
def test_validation_scores_equal_scikit_learns_over_every_class(case):
    """Random label sets, including classes missing from y_true, y_pred or both: every class is averaged."""
    rng = np.random.default_rng(case)
    num_classes = int(rng.integers(2, 8))
    labels = np.arange(num_classes)
    present = rng.choice(num_classes, size=int(rng.integers(1, num_classes + 1)), replace=False)
    y_true = rng.choice(present, size=int(rng.integers(1, 60)))
    y_pred = rng.integers(0, num_classes, size=len(y_true)) if case % 3 else y_true.copy()
    macro_f1, macro_recall, recall = validation_scores(confusion(y_true, y_pred, num_classes))
    expected_f1 = f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)
    expected_recall = recall_score(y_true, y_pred, labels=labels, average=None, zero_division=0)
    assert macro_f1 == pytest.approx(expected_f1, abs=1e-12)
    assert macro_recall == pytest.approx(expected_recall.mean(), abs=1e-12)
    np.testing.assert_allclose(recall, expected_recall, atol=1e-12)


def test_a_class_missing_from_validation_counts_as_zero():
    """Predicting the missing class must not be punished more than any other mistake."""
    y_true = np.array([0, 0, 1, 1])  # class 2 absent
    perfect = validation_scores(confusion(y_true, y_true, 3))
    one_wrong_as_missing = validation_scores(confusion(y_true, np.array([0, 2, 1, 1]), 3))
    one_wrong_as_present = validation_scores(confusion(y_true, np.array([0, 1, 1, 1]), 3))
    assert perfect[0] == pytest.approx(2 / 3)
    assert one_wrong_as_missing[0] > one_wrong_as_present[0]


def test_an_absent_class_scores_zero_precision_auc_and_leaves_roc_auc_undefined():
    y_true, proba = (
        np.array([0, 0, 1, 1]),
        np.array([[0.8, 0.1, 0.1], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.3, 0.6, 0.1]]),
    )
    result = score(y_true, proba.argmax(axis=1), proba, np.array([30, 30, 30]))
    assert result["macro_pr_auc"] == pytest.approx(2 / 3), "classes 0 and 1 ranked perfectly, absent class 2: 0"
    assert "macro_roc_auc" not in result, "one-vs-rest AUC of a class with no test sample is undefined"


def test_groups_split_classes_at_the_literature_thresholds():
    y_true = np.arange(4).repeat(5)
    y_pred = np.where(np.arange(20) % 5 == 0, 0, y_true)  # class 0 always right, the others 4 of 5
    result = score(y_true, y_pred, np.eye(4)[y_pred], np.array([101, 100, 20, 19]))
    assert result["head_macro_recall"] == pytest.approx(1.0)
    assert result["medium_macro_recall"] == pytest.approx(0.8) and result["tail_macro_recall"] == pytest.approx(0.8)
    assert "head_macro_f1" not in score(y_true, y_pred, np.eye(4)[y_pred], np.array([100, 100, 20, 19]))


def test_a_perfectly_calibrated_model_has_zero_expected_calibration_error():
    from bench.metrics import expected_calibration_error

    y_true = np.array([0] * 8 + [1] * 2)  # predicted class 0 at confidence 0.8 everywhere: right 8 times in 10
    proba = np.tile([0.8, 0.2], (10, 1))
    assert expected_calibration_error(y_true, proba) == pytest.approx(0.0)
    assert expected_calibration_error(np.ones(10, int), proba) == pytest.approx(0.8)


def test_a_cell_without_training_counts_gets_every_score_but_the_groups():
    y_true, y_pred = np.array([0, 1, 2, 2]), np.array([0, 1, 2, 1])
    result = score(y_true, y_pred, np.eye(3)[y_pred], None)
    assert result["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, average="macro"))
    assert len(result["recall"]) == 3 and not any(k.startswith(("head_", "medium_", "tail_")) for k in result)
