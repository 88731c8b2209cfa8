"""The whole pipeline on a tiny study: determinism, resume, failure isolation, exported metrics."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score, recall_score

from bench.cli import main
from bench.runner import Runner
from tests.conftest import run_tiny


def cells(directory: Path) -> list[sqlite3.Row]:
    db = sqlite3.connect(directory / "bench.sqlite")
    db.row_factory = sqlite3.Row
    rows = db.execute("SELECT * FROM cells ORDER BY position").fetchall()
    db.close()
    return rows


def results(directory: Path) -> pd.DataFrame:
    return pd.read_csv(directory / "results.csv")


def test_report_and_results_cover_every_cell(tiny_study):
    frame = results(tiny_study)
    assert len(frame) == 4 and set(frame.strategy) == {"baseline", "oversample"}
    report = (tiny_study / "report.md").read_text()
    assert "| baseline |" in report and "| oversample |" in report
    assert all(row["status"] == "done" and row["attempts"] == 1 for row in cells(tiny_study))


def test_same_config_gives_identical_metrics(tiny_study, tmp_path):
    assert run_tiny(tmp_path / "again") == 0
    pd.testing.assert_frame_equal(results(tiny_study), results(tmp_path / "again"))


def test_rerun_resumes_without_training(tiny_study, monkeypatch, capsys):
    def no_training(*args, **kwargs):
        raise AssertionError("a finished cell was trained again")

    monkeypatch.setattr(Runner, "run_cell", no_training)
    monkeypatch.setattr(Runner, "tune", no_training)
    assert run_tiny(tiny_study) == 0
    assert "4 cells, 4 already done" in capsys.readouterr().out


class Interrupt:
    """Stands in for Ctrl-C / a kill after the n-th progress event of a kind."""

    def __init__(self, event: str, after: int) -> None:
        self.event, self.remaining = event, after

    def __call__(self, original):
        def wrapper(*args, **kwargs):
            original(*args, **kwargs)
            self.remaining -= 1
            if self.remaining == 0:
                raise KeyboardInterrupt

        return wrapper


@pytest.mark.parametrize(("event", "after"), [("cell_done", 1), ("trial_done", 2)])
def test_interrupted_study_resumes_to_the_same_numbers(tiny_study, tmp_path, monkeypatch, event, after):
    from bench import progress

    out = tmp_path / "interrupted"
    original = getattr(progress.PlainProgress, event)
    monkeypatch.setattr(progress.PlainProgress, event, Interrupt(event, after)(original))
    assert run_tiny(out) == 130
    monkeypatch.setattr(progress.PlainProgress, event, original)
    assert run_tiny(out) == 0
    rows = cells(out)
    assert len(rows) == 4 and all(r["status"] == "done" for r in rows)
    assert sum(r["attempts"] for r in rows) == 4, "no finished cell ran twice"
    pd.testing.assert_frame_equal(results(tiny_study), results(out))


def test_a_failing_cell_is_recorded_and_the_study_goes_on(tmp_path, monkeypatch, capsys):
    original = Runner.run_cell

    def flaky(self, cell, best):
        if cell.strategy == "oversample" and cell.seed == 2:
            raise RuntimeError("simulated crash")
        return original(self, cell, best)

    monkeypatch.setattr(Runner, "run_cell", flaky)
    out = tmp_path / "flaky"
    assert run_tiny(out) == 1
    statuses = {(r["strategy"], r["seed"]): (r["status"], r["error"]) for r in cells(out)}
    assert statuses[("oversample", 2)] == ("failed", "RuntimeError: simulated crash")
    assert sum(s == "done" for s, _ in statuses.values()) == 3
    assert "1 failed" in capsys.readouterr().out
    assert main(["status", str(out)]) == 0
    assert "simulated crash" in capsys.readouterr().out
    assert "simulated crash" in (out / "report.md").read_text()
    monkeypatch.setattr(Runner, "run_cell", original)
    assert run_tiny(out) == 0, "a failed cell is retried on the next run"


def test_results_equal_metrics_recomputed_from_exported_predictions(tiny_study, tmp_path):
    output = tmp_path / "predictions.csv"
    assert main(["export", str(tiny_study), "--what", "predictions", "--output", str(output)]) == 0
    predictions = pd.read_csv(output, dtype={"true_label": str, "predicted_label": str})
    assert len(predictions) == 4 * 300
    assert [c for c in predictions.columns if c.startswith("proba_")] == [f"proba_{d}" for d in range(10)]
    proba = predictions.filter(like="proba_").to_numpy()
    assert np.allclose(proba.sum(axis=1), 1.0, atol=1e-4)
    labels = [str(d) for d in range(10)]
    expected = results(tiny_study).set_index(["strategy", "seed"])
    for key, group in predictions.groupby(["strategy", "seed"]):
        row = expected.loc[key]
        y_true, y_pred = group.true_label, group.predicted_label
        assert row.macro_f1 == pytest.approx(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0))
        assert row.macro_recall == pytest.approx(recall_score(y_true, y_pred, labels=labels, average="macro"))


def test_test_predictions_are_shared_across_strategies(tiny_study, tmp_path):
    output = tmp_path / "p.csv"
    main(["export", str(tiny_study), "--what", "predictions", "--output", str(output)])
    predictions = pd.read_csv(output)
    for _, group in predictions.groupby("seed"):
        ids = [sorted(g.sample_id) for _, g in group.groupby("strategy")]
        assert ids[0] == ids[1]


@pytest.mark.parametrize("tuner", ["hyperband", "bayesian"])
def test_every_tuner_runs_a_search(tmp_path, tuner):
    out = tmp_path / tuner
    args = ["run", "--profile", "smoke", "--strategy", "focal", "--tuner", tuner, "--epochs", "2", "--out", str(out)]
    assert main(args) == 0
    rows = cells(out)
    assert len(rows) == 1 and rows[0]["status"] == "done"
    assert "focal_gamma" in rows[0]["hyperparameters"]


def test_monitoring_options_record_and_write_what_they_promise(tmp_path, capsys):
    out = tmp_path / "monitored"
    args = [
        "run",
        "--profile",
        "smoke",
        "--strategy",
        "baseline",
        "--epochs",
        "2",
        "--out",
        str(out),
        "--reduce-lr",
        "--live",
        "--tensorboard",
    ]
    assert main(args) == 0
    assert capsys.readouterr().out.count("macro avg") == 2, "one classification report per final epoch"
    [row] = cells(out)
    assert {"reduce_lr_factor", "reduce_lr_patience"} <= set(json.loads(row["hyperparameters"]))
    history = json.loads(row["history"])
    assert len(history["val_confusion"]) == len(history["val_recall_per_class"]) == len(history["loss"]) == 2
    assert len(history["val_recall_per_class"][0]) == 10 and "val_loss" in history
    assert list((out / "tensorboard").rglob("events.out.tfevents*")), "TensorBoard event files"


def test_posthoc_strategies_reuse_the_baseline_models_without_training(tmp_path, monkeypatch):
    out = tmp_path / "posthoc"
    trained: list[str] = []
    original = Runner.train

    def counting(self, cell, strategy, arrays, test, best):
        trained.append(cell.strategy)
        return original(self, cell, strategy, arrays, test, best)

    monkeypatch.setattr(Runner, "train", counting)
    args = [
        "run",
        "--profile",
        "smoke",
        "--seeds",
        "2",
        "--epochs",
        "2",
        "--out",
        str(out),
        "--strategy",
        "threshold",
        "--strategy",
        "baseline",
        "--strategy",
        "posthoc-logit-adjust",
    ]
    assert main(args) == 0
    assert trained == ["baseline", "baseline"], "post-hoc cells must not train"
    rows = {(r["strategy"], r["seed"]): r for r in cells(out)}
    for seed in (1, 2):
        base, threshold = rows[("baseline", seed)], rows[("threshold", seed)]
        assert threshold["status"] == "done" and threshold["history"] == base["history"]
        assert "threshold_offsets" in json.loads(threshold["hyperparameters"])
        assert "posthoc_tau" in json.loads(rows[("posthoc-logit-adjust", seed)]["hyperparameters"])
    assert [p.name for p in (out / "tuner").iterdir()] == ["digits-lt__baseline"]


def test_a_strategy_that_does_not_apply_is_skipped_with_its_reason(tmp_path, capsys):
    out = tmp_path / "smote"
    assert main(["run", "--profile", "smoke", "--strategy", "smote", "--out", str(out)]) == 0
    [row] = cells(out)
    assert row["status"] == "skipped" and "k_neighbors=5 needs at least 6" in row["error"]
    assert main(["status", str(out)]) == 0
    assert "1 skipped" in capsys.readouterr().out
