"""Every number results.csv adds beyond the confusion counts, recomputed from exported predictions with scikit-learn."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    log_loss,
    precision_recall_fscore_support,
    roc_auc_score,
)

from bench.commands.cli import main
from bench.metrics import GROUPS
from bench.storage.store import Store
from reports.results import DATASET_FRAMES, load
from tests.conftest import fake_study


def expected_scores(cell: pd.DataFrame, pool: np.ndarray) -> dict[str, float]:
    """A cell's threshold-free, calibration, worst-class and group scores from its exported rows."""
    classes = [c[len("proba_") :] for c in cell.columns if c.startswith("proba_")]
    proba = cell[[f"proba_{c}" for c in classes]].to_numpy()
    y_true = cell.true_label.map({c: i for i, c in enumerate(classes)}).to_numpy()
    y_pred = cell.predicted_label.map({c: i for i, c in enumerate(classes)}).to_numpy()
    labels = np.arange(len(classes))
    _, recall, f1, _ = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    normalised = proba / proba.sum(axis=1, keepdims=True)  # Brier and log loss: rows summing to 1 (bench.metrics)
    confidence, correct = proba.max(axis=1), (proba.argmax(axis=1) == y_true)
    accuracy, mean_confidence = calibration_curve(correct, confidence, n_bins=15, strategy="uniform")
    counts = np.bincount(np.searchsorted(np.linspace(0, 1, 16)[1:-1], confidence), minlength=15)
    found = {
        "macro_pr_auc": average_precision_score(np.eye(len(classes))[y_true], proba, average="macro"),
        "macro_roc_auc": roc_auc_score(y_true, proba, multi_class="ovr", labels=labels),
        "brier": brier_score_loss(y_true, normalised, labels=labels, scale_by_half=False),
        "log_loss": log_loss(y_true, normalised, labels=labels),
        "ece": float(np.sum(np.abs(accuracy - mean_confidence) * counts[counts > 0]) / len(y_true)),
        "worst_class_recall": recall.min(),
        "worst_class_f1": f1.min(),
    }
    for group, (low, high) in GROUPS.items():
        members = (pool >= low) & (pool <= (high if high is not None else np.inf))
        found[f"{group}_macro_f1"] = f1[members].mean() if members.any() else np.nan
        found[f"{group}_macro_recall"] = recall[members].mean() if members.any() else np.nan
    return found


def test_every_new_number_is_recomputed_from_the_exported_predictions(tiny_study, tmp_path):
    predictions, results = tmp_path / "predictions.csv", tmp_path / "results.csv"
    assert main(["export", str(tiny_study), "--what", "predictions", "--output", str(predictions)]) == 0
    assert main(["export", str(tiny_study), "--output", str(results)]) == 0
    exported = pd.read_csv(predictions, dtype={"true_label": str, "predicted_label": str})
    table = pd.read_csv(results)
    db = sqlite3.connect(tiny_study / "bench.sqlite")
    pools = {
        (strategy, seed): np.add(*(json.loads(counts)[split] for split in ("train", "val")))
        for strategy, seed, counts in db.execute("SELECT strategy, seed, class_counts FROM cells")
    }
    db.close()
    checked = 0
    for row in table.itertuples():
        cell = exported[(exported.strategy == row.strategy) & (exported.seed == row.seed)]
        for metric, value in expected_scores(cell, pools[row.strategy, row.seed]).items():
            assert getattr(row, metric) == pytest.approx(value, abs=1e-6, nan_ok=True), (row.strategy, metric)
            checked += not np.isnan(value)
    assert checked >= len(table) * 9, "PR-AUC, ROC-AUC, Brier, log loss, ECE, 2 worst-class and some group scores"


def test_the_study_cut_by_dataset_keeps_every_row_once(tmp_path):
    store = Store.open_existing(fake_study(tmp_path, datasets=("toy", "other"), unfinished=2))
    try:
        data = load(store)
    finally:
        store.close()
    parts = data.by_dataset()
    assert list(parts) == ["toy", "other"]
    for name in DATASET_FRAMES:
        whole = getattr(data, name)
        for dataset, part in parts.items():
            assert set(getattr(part, name).dataset) <= {dataset}
        assert sum(len(getattr(part, name)) for part in parts.values()) == len(whole), name
    assert {k for part in parts.values() for k in part.confusion} == set(data.confusion)
    assert all(k[0] == "other" for k in parts["other"].reliability)
    assert parts["other"].cells.class_counts.iloc[0]["train"] == [50, 10, 2]  # parsed once, on load


def test_a_histories_epochs_are_its_per_epoch_series_not_the_per_class_records_beside_them():
    from reports.results import _histories

    history = {
        "loss": [1.0, 0.5],
        "val_macro_f1": [0.2, 0.4],
        "val_recall_per_class": [[0.1] * 10, [0.2] * 10],
        "classifier": {"norms": [1.0] * 10, "bias": [0.0] * 10},  # ten classes, two epochs
    }
    cells = pd.DataFrame([{"status": "done", "dataset": "d", "strategy": "baseline", "seed": 1, "history": history}])
    assert _histories(cells).epoch.tolist() == [1, 2]
