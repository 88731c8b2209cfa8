"""Per-fold scaling: fitted on the training rows only, never on validation or test."""

from __future__ import annotations

import numpy as np

from bench.data.dataset import Dataset
from bench.data.features import fold_features
from bench.data.splits import Fold


def test_statistics_come_from_the_training_fold_alone():
    x = np.array([[0.0, 5.0], [2.0, 5.0], [np.nan, 5.0], [100.0, 5.0], [200.0, 5.0]], dtype="float32")
    dataset = Dataset("t", x, np.array([0, 1, 0, 1, 0]), ("a", "b"), standardize=(0,))
    fold = Fold(seed=1, train=np.array([0, 1, 2]), val=np.array([3]), test=np.array([4]))
    features = fold_features(dataset, fold)
    # training rows 0, 2 and a gap filled with their median (1): mean 1, std sqrt(2/3)
    scale = np.sqrt(2 / 3)
    np.testing.assert_allclose(features.train[:, 0], [-1 / scale, 1 / scale, 0.0], rtol=1e-6)
    np.testing.assert_allclose(features.val[:, 0], [(100 - 1) / scale], rtol=1e-6)
    np.testing.assert_allclose(features.test[:, 0], [(200 - 1) / scale], rtol=1e-6)
    assert (features.train[:, 1] == 5.0).all(), "columns not marked are left alone"
    assert np.isnan(dataset.x[2, 0]), "the dataset itself is not modified"


def test_without_marked_columns_rows_are_returned_as_they_are():
    x = np.arange(8, dtype="float32").reshape(4, 2)
    dataset = Dataset("t", x, np.array([0, 1, 0, 1]), ("a", "b"))
    fold = Fold(seed=1, train=np.array([0, 1]), val=np.array([2]), test=np.array([3]))
    features = fold_features(dataset, fold)
    np.testing.assert_array_equal(features.train, x[:2])
    np.testing.assert_array_equal(features.test, x[3:])
