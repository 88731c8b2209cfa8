"""npz sources: labels as indices or names, with or without class_names."""

from __future__ import annotations

import numpy as np
import pytest

from bench.data.npz import load_npz
from bench.errors import UserError

X = np.arange(24, dtype="float64").reshape(12, 2)


def test_labels_as_indices_into_class_names(tmp_path):
    np.savez(tmp_path / "b.npz", x=X, y=np.array([0, 1, 2] * 4), class_names=np.array(["cat", "cow", "dog"]))
    dataset = load_npz("npz", tmp_path / "b.npz", None)
    assert dataset.class_names == ("cat", "cow", "dog") and dataset.y[:3].tolist() == [0, 1, 2]
    assert dataset.x.dtype == np.float32


def test_labels_as_names_follow_class_names_order(tmp_path):
    np.savez(tmp_path / "a.npz", x=X, y=np.array(["dog", "cat"] * 6), class_names=np.array(["dog", "cat"]))
    dataset = load_npz("npz", tmp_path / "a.npz", None)
    assert dataset.class_names == ("dog", "cat") and dataset.y[:2].tolist() == [0, 1]


def test_without_class_names_labels_name_the_classes(tmp_path):
    np.savez(tmp_path / "a.npz", x=X, y=np.array([7, 3] * 6))
    dataset = load_npz("npz", tmp_path / "a.npz", None)
    assert dataset.class_names == ("3", "7") and dataset.y[:2].tolist() == [1, 0]


def test_a_class_without_samples_is_refused(tmp_path):
    np.savez(tmp_path / "a.npz", x=X, y=np.array([0, 1] * 6), class_names=np.array(["a", "b", "c"]))
    with pytest.raises(UserError, match="class 'c' in class_names has no samples"):
        load_npz("npz", tmp_path / "a.npz", None)


def test_missing_labels_are_refused_not_made_a_class(tmp_path):
    """A NaN label used to train a class named 'nan'."""
    y = np.array([0.0, 1.0] * 6)
    y[[3, 7]] = np.nan
    np.savez(tmp_path / "a.npz", x=X, y=y)
    with pytest.raises(UserError, match=r"2 label\(s\) in y are missing \(NaN\); drop those rows"):
        load_npz("npz", tmp_path / "a.npz", None)
