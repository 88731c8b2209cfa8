"""Tuning modes and staged search on a tiny study: which searches run, on what, and what the cells use."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from bench.commands.cli import main
from bench.execution import tasks


def rows(directory: Path, table: str) -> list[sqlite3.Row]:
    db = sqlite3.connect(directory / "bench.sqlite")
    db.row_factory = sqlite3.Row
    found = db.execute(f"SELECT * FROM {table}").fetchall()
    db.close()
    return found


def run(out: Path, *extra: str) -> int:
    args = ["run", "--profile", "smoke", "--seeds", "2", "--epochs", "2", "--out", str(out), *extra]
    return main(args)


def test_per_seed_tuning_searches_each_seed_on_its_own_split_and_uses_its_winner(tmp_path, monkeypatch):
    searched = []
    real = tasks.search_task
    monkeypatch.setattr(
        "bench.execution.runner.search_task",
        lambda study, directory, d, s, *rest: searched.append((s, rest[1])) or real(study, directory, d, s, *rest),
    )
    out = tmp_path / "per-seed"
    assert run(out, "--strategy", "baseline", "--strategy", "focal", "--tuning", "per-seed") == 0
    assert sorted(searched) == [("baseline", 1), ("baseline", 2), ("focal", 1), ("focal", 2)]
    best = {(r["strategy"], r["seed"]): json.loads(r["best_hp"]) for r in rows(out, "searches")}
    for cell in rows(out, "cells"):
        assert cell["status"] == "done"
        used = json.loads(cell["hyperparameters"])
        assert used == best[(cell["strategy"], cell["seed"])], "each seed trains with its own search's winner"
    assert {r["seed"] for r in rows(out, "trials")} == {1, 2}


def test_cv_tuning_scores_each_trial_on_k_folds_of_the_pool(tmp_path, monkeypatch):
    from bench.training.hypermodel import ImbalanceHyperModel

    fits = []
    real_train = ImbalanceHyperModel.train

    def counted(self, *args, **kwargs):
        fits.append(len(self.fold.y_val))
        return real_train(self, *args, **kwargs)

    monkeypatch.setattr(ImbalanceHyperModel, "train", counted)
    out = tmp_path / "cv"
    assert run(out, "--strategy", "baseline", "--tuning", "cv[k=3]") == 0
    # one trial of three fits (folds of the first seed's pool), then the two seeds' final runs
    assert len(fits) == 3 + 2
    pool = sum(fits[:3])
    assert all(abs(n - pool / 3) <= 10 for n in fits[:3]), "three folds of one pool, each its own validation"
    [search] = rows(out, "searches")
    assert search["seed"] == 0 and search["status"] == "done"


def test_staged_search_holds_baselines_winner_and_tunes_only_the_strategys_own_knobs(tmp_path):
    out = tmp_path / "staged"
    assert run(out, "--strategy", "baseline", "--strategy", "focal", "--search", "staged", "--max-trials", "2") == 0
    searches = {r["strategy"]: json.loads(r["best_hp"]) for r in rows(out, "searches")}
    focal = searches["focal"]
    assert {k: v for k, v in focal.items() if not k.startswith("focal_")} == searches["baseline"]
    for trial in rows(out, "trials"):
        if trial["strategy"] == "focal":
            values = json.loads(trial["hyperparameters"])
            assert {k: v for k, v in values.items() if not k.startswith("focal_")} == searches["baseline"]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--tuning", "twice"], "unknown tuning mode 'twice'"),
        (["--tuning", "cv[k=1]"], "cv tuning needs a whole number of folds k from 2 to 10"),
        (["--tuning", "cv[k=3]", "--tuner", "hyperband"], "which hyperband cannot continue"),
        (["--search", "staged", "--strategy", "focal"], "add baseline to the strategies"),
    ],
)
def test_bad_tuning_settings_are_one_line(tmp_path, capsys, flags, message):
    assert run(tmp_path / "bad", *flags) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "bad").exists()


def test_per_seed_searches_are_paired_across_strategies_and_independent_across_seeds(tmp_path):
    """Read from the stored trials: within a seed trial i of every strategy tries the same model; seeds differ."""
    out = tmp_path / "paired"
    strategies = ["baseline", "stratify", "class-weight", "oversample", "focal"]
    extra = [arg for name in strategies for arg in ("--strategy", name)]
    assert run(out, *extra, "--tuning", "per-seed", "--max-trials", "2", "--epochs", "1") == 0
    drawn: dict[tuple[str, int], list[dict]] = {}
    for trial in rows(out, "trials"):
        drawn.setdefault((trial["strategy"], trial["seed"]), []).append(json.loads(trial["hyperparameters"]))
    model_knobs = set(drawn[("baseline", 1)][0])  # baseline has no knobs of its own
    for seed in (1, 2):
        for name in strategies:
            model = [{k: v for k, v in hp.items() if k in model_knobs} for hp in drawn[(name, seed)]]
            assert model == drawn[("baseline", seed)], f"{name} tried other models than baseline on seed {seed}"
    assert drawn[("baseline", 1)] != drawn[("baseline", 2)], "the seeds' searches draw their own candidates"
