"""CSV sources: target column, one-hot categories, missing values."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.data.tabular import load_csv
from tests.conftest import write_csv


def test_numeric_columns_first_then_one_hot_categories(tmp_path):
    dataset = load_csv("csv", write_csv(tmp_path / "t.csv"), "label", "error", None)
    assert dataset.class_names == ("common", "rare", "usual")
    assert dataset.x.shape == (120, 2 + 3)  # amount, age, channel x {phone, shop, web}
    assert dataset.standardize == (0, 1)
    assert set(np.unique(dataset.x[:, 2:])) == {0.0, 1.0}
    assert (dataset.x[:, 2:].sum(axis=1) == 1).all()


def test_numeric_labels_keep_numeric_order(tmp_path):
    pd.DataFrame({"f": range(12), "label": [2, 10] * 6}).to_csv(tmp_path / "t.csv", index=False)
    assert load_csv("csv", tmp_path / "t.csv", "label", "error", None).class_names == ("2", "10")


def test_missing_values_dropped_or_left_for_imputation(tmp_path):
    frame = pd.DataFrame(
        {"amount": [1.0, None, 3.0, 4.0] * 5, "shop": ["a", "b", None, "a"] * 5, "label": ["x", "y"] * 10}
    )
    frame.to_csv(tmp_path / "t.csv", index=False)
    dropped = load_csv("csv", tmp_path / "t.csv", "label", "drop", None)
    assert len(dropped.y) == 10 and np.isfinite(dropped.x).all()
    imputed = load_csv("csv", tmp_path / "t.csv", "label", "impute", None)
    assert len(imputed.y) == 20
    assert np.isnan(imputed.x[:, 0]).sum() == 5, "numeric gaps wait for the training fold's median"
    assert imputed.x.shape[1] == 1 + 3  # a, b and the missing category


def test_rows_without_a_label_are_dropped_when_imputing(tmp_path):
    pd.DataFrame({"f": range(8), "label": ["a", "b", None, "a"] * 2}).to_csv(tmp_path / "t.csv", index=False)
    dataset = load_csv("csv", tmp_path / "t.csv", "label", "impute", None)
    assert len(dataset.y) == 6
