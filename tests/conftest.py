"""Shared fixtures: one tiny study, run once per session through the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.cli import main

# Two strategies that take different code paths (plain fold vs resampled batches),
# two seeds, one trial of one epoch: every part of the pipeline in a few seconds per cell.
TINY = ["--profile", "smoke", "--strategy", "baseline", "--strategy", "oversample", "--seeds", "2", "--epochs", "1"]


def run_tiny(out: Path, *extra: str) -> int:
    return main(["run", *TINY, "--out", str(out), *extra])


@pytest.fixture(scope="session")
def tiny_study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tiny") / "study"
    assert run_tiny(out) == 0
    return out


def fake_study(
    directory: Path,
    class_names: tuple[str, ...] = ("a", "b", "c"),
    strategies: tuple[str, ...] = ("baseline", "oversample"),
    seeds: tuple[int, ...] = (1, 2, 3),
    datasets: tuple[str, ...] = ("toy",),
    unfinished: int = 0,
) -> Path:
    """A store filled with made-up but consistent results, for report tests without training.

    The last `unfinished` cells are left one failed and the rest pending.
    """
    import numpy as np

    from bench.metrics import score
    from bench.store import Cell, CellResult, Store

    rng = np.random.default_rng(0)
    store = Store.for_study(
        directory,
        {
            "name": "fake",
            "profile": "smoke",
            "model": "mlp",
            "tuner": "random",
            "max_trials": 1,
            "epochs": 3,
            "patience": 1,
            "seeds": len(seeds),
        },
        "fake",
        overwrite=False,
    )
    cells = [
        Cell(f"{d}-{s}-{seed}", d, s, seed, i)
        for i, (d, s, seed) in enumerate((d, s, seed) for d in datasets for s in strategies for seed in seeds)
    ]
    for dataset in datasets:
        store.add_dataset(dataset, class_names, "mlp")
        for strategy in strategies:
            store.save_search(
                dataset,
                strategy,
                {"learning_rate": 0.001},
                [{"trial_id": "0", "status": "COMPLETED", "objective": 0.5, "hyperparameters": {}, "message": ""}],
                1.0,
                "",
            )
    store.add_cells(cells)
    k = len(class_names)
    finished = cells[: len(cells) - unfinished]
    for n, cell in enumerate(finished):
        y_true = np.repeat(np.arange(k), 10)
        y_pred = np.where(
            rng.random(len(y_true)) < 0.7 + 0.05 * (cell.strategy != "baseline"),
            y_true,
            rng.integers(0, k, len(y_true)),
        )
        proba = np.eye(k, dtype="float32")[y_pred]
        store.start_cell(cell.key)
        store.finish_cell(
            cell.key,
            CellResult(
                hyperparameters={"learning_rate": 0.001},
                history={"loss": [1.0, 0.8, 0.7], "val_loss": [1.1, 0.9, 0.9], "val_macro_f1": [0.3, 0.5, 0.6]},
                seconds=1.0 + n,
                class_counts={"train": [50, 10, 2][:k] + [2] * (k - 3), "val": [5] * k, "test": [10] * k},
                samples_per_epoch=62,
                sample_id=np.arange(len(y_true)),
                y_true=y_true,
                y_pred=y_pred,
                proba=proba,
                val_logits=np.zeros((5, k), "float32"),
                logits=np.log(np.clip(proba, 1e-6, 1)),
                metrics=score(y_true, y_pred, k),
            ),
        )
    for i, cell in enumerate(cells[len(finished) :]):
        if i == 0:
            store.start_cell(cell.key)
            store.fail_cell(cell.key, "RuntimeError: boom")
    store.close()
    return directory
