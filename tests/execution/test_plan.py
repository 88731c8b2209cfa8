"""Planning a study: cells a strategy cannot run are known, with the strategy's reason, before any training."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from bench.config import build_config
from bench.data.splits import make_fold
from bench.execution.plan import prepare
from bench.execution.tasks import fold_data


def test_a_cell_whose_training_fold_a_strategy_cannot_use_is_planned_as_skipped_with_its_reason(tmp_path):
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), [60, 30, 9])
    np.savez(tmp_path / "small.npz", x=rng.normal(size=(len(y), 4)).astype("float32"), y=y)
    strategies = ["baseline", "smote", "stratify+smote", "smote[k_neighbors=3]"]
    settings = {"profile": "smoke", "seeds": 3, "datasets": [str(tmp_path / "small.npz")], "strategies": strategies}
    study = prepare(build_config(settings, {}))
    dataset = next(iter(study.datasets.values()))
    random_cut = {seed: np.bincount(y[make_fold(dataset, seed, False, 0.2).train]) for seed in (1, 2, 3)}
    assert [counts[2] for counts in random_cut.values()] == [5, 6, 6], "seed 1 leaves class 2 five training rows"
    (cell,) = [c for c in study.cells if c.key in study.skipped]
    assert (cell.strategy, cell.seed) == ("smote", 1), "per seed and split: stratified cuts keep six"
    assert study.skipped[cell.key] == (
        "smote: class(es) 2 have 5 or fewer training samples, SMOTE with k_neighbors=5 needs at least 6; "
        "use smote[k_neighbors=1] or oversample"
    )


def test_each_fold_is_cut_once_and_the_tasks_train_on_it():
    study = prepare(build_config({"profile": "smoke", "seeds": 2, "strategies": ["baseline", "stratify"]}, {}))
    dataset = study.datasets["digits-lt"]
    assert set(study.folds) == {("digits-lt", seed, stratified) for seed in (1, 2) for stratified in (False, True)}
    for (_, seed, stratified), fold in study.folds.items():
        again = make_fold(dataset, seed, stratified, 0.2)
        assert all(np.array_equal(getattr(fold, part), getattr(again, part)) for part in ("train", "val", "test"))
    fold = study.folds["digits-lt", 2, True]
    study.folds["digits-lt", 2, True] = replace(fold, train=fold.train[:-1])  # what the plan said is what runs
    arrays, used, _ = fold_data(study, "digits-lt", study.strategies["stratify"], 2)
    assert used.train.size == fold.train.size - 1 and len(arrays.y_train) == fold.train.size - 1
