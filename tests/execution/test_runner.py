"""The whole pipeline on a tiny study: determinism, resume, failure isolation, exported metrics."""

from __future__ import annotations

import importlib.util
import json
import re
import sqlite3
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score, recall_score

from bench.commands.cli import main
from bench.execution import runner, tasks
from tests.conftest import run_tiny

pytestmark = pytest.mark.backend


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

    monkeypatch.setattr(runner, "cell_task", no_training)
    monkeypatch.setattr(runner, "search_task", no_training)
    assert run_tiny(tiny_study) == 0
    assert "4 cells, 4 already done" in capsys.readouterr().out


def test_a_raised_strategy_version_reruns_only_that_strategys_cells(tmp_path, monkeypatch):
    from strategies.resampling import Oversample

    out = tmp_path / "versioned"
    assert run_tiny(out) == 0
    before = results(out)
    trained: list[str] = []
    real = tasks.cell_task
    monkeypatch.setattr(
        runner, "cell_task", lambda study, d, cell, *a: trained.append(cell.strategy) or real(study, d, cell, *a)
    )
    monkeypatch.setattr(Oversample, "version", Oversample.version + 1)
    assert run_tiny(out) == 0
    assert trained == ["oversample", "oversample"], "baseline's finished cells are kept"
    after = results(out)
    assert len(after) == len(before) == 4 and after.strategy.value_counts().to_dict() == {
        "baseline": 2,
        "oversample": 2,
    }
    pd.testing.assert_frame_equal(after, before)  # same code under a new version number: the same numbers again


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
    from bench.execution import progress

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
    original = runner.cell_task

    def flaky(study, directory, cell, best, reused=None):
        if cell.strategy == "oversample" and cell.seed == 2:
            raise RuntimeError("simulated crash")
        return original(study, directory, cell, best, reused)

    monkeypatch.setattr(runner, "cell_task", flaky)
    out = tmp_path / "flaky"
    assert run_tiny(out) == 1
    statuses = {(r["strategy"], r["seed"]): (r["status"], r["error"]) for r in cells(out)}
    assert statuses[("oversample", 2)] == ("failed", "RuntimeError: simulated crash")
    assert sum(s == "done" for s, _ in statuses.values()) == 3
    assert "1 failed" in capsys.readouterr().out
    assert main(["status", str(out)]) == 0
    assert "simulated crash" in capsys.readouterr().out
    assert "simulated crash" in (out / "report.md").read_text()
    monkeypatch.setattr(runner, "cell_task", original)
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
    ]
    tensorboard = importlib.util.find_spec("tensorflow") is not None  # its summary writer; absent under jax/torch
    assert main(args + ["--tensorboard"] * tensorboard) == 0
    assert capsys.readouterr().out.count("macro avg") == 2, "one classification report per final epoch"
    [row] = cells(out)
    assert {"reduce_lr_factor", "reduce_lr_patience"} <= set(json.loads(row["hyperparameters"]))
    history = json.loads(row["history"])
    assert len(history["val_confusion"]) == len(history["val_recall_per_class"]) == len(history["loss"]) == 2
    assert len(history["val_recall_per_class"][0]) == 10 and "val_loss" in history
    assert bool(list((out / "tensorboard").rglob("events.out.tfevents*"))) == tensorboard, "TensorBoard event files"


@pytest.fixture
def trained(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The strategies whose cells train a model, in the order they do (post-hoc cells that reuse one do not)."""
    strategies: list[str] = []
    original = tasks.train

    def counting(study, directory, cell, arrays, x_test, best):
        strategies.append(cell.strategy)
        return original(study, directory, cell, arrays, x_test, best)

    monkeypatch.setattr(tasks, "train", counting)
    return strategies


def test_posthoc_strategies_reuse_the_baseline_models_without_training(tmp_path, trained):
    out = tmp_path / "posthoc"
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
        "--strategy",
        "tau-norm",
    ]
    assert main(args) == 0
    assert trained == ["baseline"], "post-hoc cells must not train (and seed 1's baseline cell is its search's winner)"
    rows = {(r["strategy"], r["seed"]): r for r in cells(out)}
    for seed in (1, 2):
        base, threshold = rows[("baseline", seed)], rows[("threshold", seed)]
        assert threshold["status"] == "done" and threshold["history"] == base["history"]
        assert "threshold_offsets" in json.loads(threshold["hyperparameters"])
        assert "posthoc_tau" in json.loads(rows[("posthoc-logit-adjust", seed)]["hyperparameters"])
        assert rows[("tau-norm", seed)]["status"] == "done", rows[("tau-norm", seed)]["error"]
        assert "tau_norm_tau" in json.loads(rows[("tau-norm", seed)]["hyperparameters"])
    assert [p.name for p in (out / "tuner").iterdir()] == [tasks.project_name("digits-lt", "baseline")]


def test_a_seeds_final_run_is_its_searchs_winning_trial_where_that_trial_trained_the_same_model(tmp_path, trained):
    args = ["run", "--profile", "smoke", "--seeds", "2", "--epochs", "3", "--tuning", "per-seed"]
    args += ["--strategy", "baseline", "--strategy", "class-weight"]
    assert main([*args, "--out", str(tmp_path / "kept")]) == 0
    assert trained == [], "each per-seed search's winner is its seed's final run"
    assert main([*args, "--live", "--out", str(tmp_path / "live")]) == 0  # a watched final run trains again
    assert sorted(trained) == ["baseline", "baseline", "class-weight", "class-weight"]
    pd.testing.assert_frame_equal(results(tmp_path / "kept"), results(tmp_path / "live"))
    assert [r["history"] for r in cells(tmp_path / "kept")] == [r["history"] for r in cells(tmp_path / "live")]
    assert main([*args[:-4], "--tuner", "hyperband", "--strategy", "baseline", "--out", str(tmp_path / "hb")]) == 0
    assert trained[4:] == ["baseline", "baseline"], "hyperband's rounds are shorter: its final runs train"


def test_tau_norm_trains_again_where_the_stored_model_predates_the_record_of_its_last_layer(tmp_path, trained):
    out = tmp_path / "older"
    args = ["run", "--profile", "smoke", "--epochs", "1", "--out", str(out), "--strategy", "baseline"]
    assert main([*args, "--strategy", "tau-norm"]) == 0
    with sqlite3.connect(out / "bench.sqlite") as db:  # baseline's cell as a store written before the record existed
        [(history,)] = db.execute("SELECT history FROM cells WHERE strategy = 'baseline'").fetchall()
        older = {k: v for k, v in json.loads(history).items() if k != "classifier"}
        db.execute("UPDATE cells SET history = ? WHERE strategy = 'baseline'", (json.dumps(older),))
        db.execute("UPDATE cells SET status = 'failed' WHERE strategy = 'tau-norm'")
    trained.clear()
    assert main([*args, "--strategy", "tau-norm"]) == 0
    assert trained == ["tau-norm"], "the older baseline model is not reused, and baseline is not rerun"
    rows = {r["strategy"]: r for r in cells(out)}
    assert rows["tau-norm"]["status"] == "done" and "tau_norm_tau" in rows["tau-norm"]["hyperparameters"]


def test_a_strategy_that_does_not_apply_is_skipped_with_its_reason(tmp_path, capsys):
    out = tmp_path / "smote"
    assert main(["run", "--profile", "smoke", "--strategy", "smote", "--out", str(out)]) == 0
    [row] = cells(out)
    assert row["status"] == "skipped" and "k_neighbors=5 needs at least 6" in row["error"]
    assert main(["status", str(out)]) == 0
    assert "1 skipped" in capsys.readouterr().out


def diverging_fits(monkeypatch, diverges: Callable[[int], bool]) -> None:
    """The n-th fit (from 0) with diverges(n) trains on an infinite loss, as a far too high learning rate would."""
    import keras

    from bench.training.hypermodel import ImbalanceHyperModel

    fits, original = iter(range(10_000)), ImbalanceHyperModel.train

    def train(self, hp, model, **kwargs):
        if diverges(next(fits)):
            model.compile(optimizer=model.optimizer, loss=lambda y_true, y_pred: keras.ops.mean(y_pred) * float("inf"))
        return original(self, hp, model, **kwargs)

    monkeypatch.setattr(ImbalanceHyperModel, "train", train)


SMOKE_BASELINE = ["run", "--profile", "smoke", "--strategy", "baseline", "--epochs", "2"]


def test_a_diverging_trial_fails_and_the_search_goes_on(tmp_path, monkeypatch):
    diverging_fits(monkeypatch, lambda n: n == 0)
    out = tmp_path / "study"
    assert main([*SMOKE_BASELINE, "--max-trials", "2", "--out", str(out)]) == 0
    db = sqlite3.connect(out / "bench.sqlite")
    trials = db.execute("SELECT status, message FROM trials ORDER BY trial_id").fetchall()
    db.close()
    assert [t[0] for t in trials] == ["FAILED", "COMPLETED"]
    assert "training diverged: loss is" in trials[0][1]
    assert cells(out)[0]["status"] == "done"


def test_a_cell_whose_every_trial_diverges_fails_and_says_why(tmp_path, monkeypatch, capsys):
    diverging_fits(monkeypatch, lambda n: True)
    out = tmp_path / "study"
    assert main([*SMOKE_BASELINE, "--max-trials", "3", "--out", str(out)]) == 1
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("0 cells done, 1 failed in ")
    [row] = cells(out)
    assert row["status"] == "failed" and "every tuning trial failed" in row["error"] and "diverged" in row["error"]
    assert main(["status", str(out)]) == 0
    assert "training diverged" in capsys.readouterr().out
    assert "training diverged" in (out / "report.md").read_text()


def test_unreadable_tuner_state_restarts_that_search_only(tmp_path, monkeypatch, notes):
    from bench.execution import progress

    two_trials = ("--max-trials", "2")
    assert run_tiny(tmp_path / "reference", *two_trials) == 0
    out = tmp_path / "corrupt"
    original = progress.PlainProgress.trial_done
    # keras-tuner saves the state it reloads once a trial has ended: stop in oversample's second trial.
    monkeypatch.setattr(progress.PlainProgress, "trial_done", Interrupt("trial_done", 4)(original))
    assert run_tiny(out, *two_trials) == 130
    monkeypatch.setattr(progress.PlainProgress, "trial_done", original)
    project = out / "tuner" / tasks.project_name("digits-lt", "oversample")
    (project / "oracle.json").write_text('{"ongoing_tri')
    for trial in project.glob("trial_*/trial.json"):
        trial.write_text("")
    assert run_tiny(out, *two_trials) == 0
    assert f"tuner state of {project.name} could not be read" in notes.text
    pd.testing.assert_frame_equal(results(tmp_path / "reference"), results(out))


def test_a_failing_disk_gives_one_line_and_keeps_the_store(tmp_path, monkeypatch, capsys):
    from bench.storage.store import Store

    original, finished = Store.finish_cell, []

    def full_disk(self, key, result):
        if finished:
            raise sqlite3.OperationalError("database or disk is full")
        original(self, key, result)
        finished.append(key)

    monkeypatch.setattr(Store, "finish_cell", full_disk)
    out = tmp_path / "full"
    assert run_tiny(out) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "error: cannot write the study store (database or disk is full); fix permissions or free space, "
        "then run the same command again (finished cells are kept)"
    ]
    monkeypatch.setattr(Store, "finish_cell", original)
    assert [r["status"] for r in cells(out)] == ["done", "running", "pending", "pending"]
    assert run_tiny(out) == 0 and all(r["status"] == "done" for r in cells(out))


def test_an_unwritable_report_gives_one_line(tmp_path, monkeypatch, capsys):
    import reports.render

    def read_only(path, data):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(reports.render, "write_atomically", read_only)
    out = tmp_path / "ro"
    assert run_tiny(out) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"error: cannot read or write a file: Permission denied ({out / 'results.csv'})")


def test_fit_and_predict_time_is_recorded_apart_from_the_harness(tiny_study):
    db = sqlite3.connect(tiny_study / "bench.sqlite")
    searches = db.execute("SELECT seconds, compute_seconds FROM searches").fetchall()
    cell_times = db.execute("SELECT seconds, compute_seconds FROM cells ORDER BY seed").fetchall()
    db.close()
    assert len(searches) == 2 and all(0 < inside < total for total, inside in searches)
    # Seed 1's cells are their searches' winners: their fits and predictions were timed in the searches.
    assert [inside > 0 for _, inside in cell_times] == [False, False, True, True]
    assert all(0 <= inside < total for total, inside in cell_times)
    cost = (tiny_study / "report.md").read_text().split("### Cost")[1]
    assert "Harness overhead:" in cost
    assert re.search(r"\d+\.\d% \(\d+\.\d s outside fit/predict, \d+\.\d s inside\)", cost)


@pytest.mark.parametrize("tuner", ["random", pytest.param("hyperband", marks=pytest.mark.slow)])
def test_kept_compiled_models_change_no_number(tmp_path, monkeypatch, tuner):
    """A study whose fits train kept models (bench.training.compiled) gives what one that compiles every fit gives."""
    from bench.training.compiled import COMPILED

    args = ["--profile", "smoke", "--tuner", tuner, "--tuning", "per-seed", "--seeds", "2", "--max-trials", "2"]
    args += ["--epochs", "3", "--strategy", "baseline", "--strategy", "class-weight"]
    COMPILED.clear()
    with monkeypatch.context() as patched:
        patched.setattr(COMPILED, "capacity", 0)
        assert main(["run", *args, "--out", str(tmp_path / "new")]) == 0
    hits = COMPILED.hits
    assert main(["run", *args, "--out", str(tmp_path / "kept")]) == 0
    assert COMPILED.hits > hits, "the second study trained kept models"
    assert (tmp_path / "new" / "results.csv").read_bytes() == (tmp_path / "kept" / "results.csv").read_bytes()


class Workers:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity


def queued_on(*models: tuple[str, int]) -> list[runner.Work]:
    return [runner.Work(print, (i,), lambda: None, lambda future: None, m) for i, m in enumerate(models)]


def test_a_worker_is_given_work_on_the_models_it_has_compiled():
    """With workers, the searches and cells of one (dataset, seed) stay on one worker where they can."""
    driver = runner.Runner(None, None, Path("."), None, Workers(2))  # next_work reads only the queue and workers
    driver.queue.extend(queued_on(("d", 1), ("d", 1), ("d", 2), ("d", 2), ("e", 1)))
    first = driver.next_work(None)
    driver.running[Future()] = first
    second = driver.next_work(None)
    assert (first.args, second.args) == ((0,), (2,)), "an idle worker takes models no other worker trains"
    driver.running = {Future(): second}
    assert driver.next_work(first.models).args == (1,), "a worker goes on with the models it just trained"
    assert driver.next_work(("d", 1)).args == (4,), "none left on its models: models nobody trains"
    serial = runner.Runner(None, None, Path("."), None, Workers(1))
    serial.queue.extend(queued_on(("d", 1), ("d", 2)))
    assert serial.next_work(("d", 2)).args == (0,), "serially, the queue's order"
