import numpy as np
import pytest
from sklearn.metrics import f1_score, recall_score

from bench.metrics import confusion, score


def test_hand_checked_small_case():
    y_true = np.array([0, 0, 1, 1, 2, 2])
    y_pred = np.array([0, 1, 1, 1, 2, 0])
    result = score(y_true, y_pred, 3)
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
    result = score(y_true, y_pred, 3)
    assert result["recall"][2] == 0.0
    assert result["macro_recall"] == pytest.approx(recall_score(y_true, y_pred, average="macro"))


def test_confusion_has_every_class():
    assert confusion(np.array([0, 1]), np.array([0, 0]), 3).shape == (3, 3)
