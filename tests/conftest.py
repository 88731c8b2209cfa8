"""Shared fixtures: one tiny study, run once per session through the CLI."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.commands.cli import main

STUDIES = Path(__file__).parent.parent / "studies"

# Two strategies that take different code paths (plain fold vs resampled batches),
# two seeds, one trial of one epoch: every part of the pipeline in a few seconds per cell.
TINY = ["--profile", "smoke", "--strategy", "baseline", "--strategy", "oversample", "--seeds", "2", "--epochs", "1"]


def run_tiny(out: Path, *extra: str) -> int:
    return main(["run", *TINY, "--out", str(out), *extra])


@pytest.fixture(scope="session", autouse=True)
def private_compilation_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """JAX programs compiled by the tests (and by the worker processes they start) stay out of the user's cache."""
    mp = pytest.MonkeyPatch()
    mp.setenv("JAX_COMPILATION_CACHE_DIR", str(tmp_path_factory.mktemp("jax-compilation-cache")))
    yield
    mp.undo()


@pytest.fixture(scope="session", autouse=True)
def one_usable_core() -> Iterator[None]:
    """Studies run in the test's own process unless a test asks for workers: "auto" finds one core.

    Tests patch the driver's functions and read its state, which worker
    processes would not share; tests of "auto" itself patch this again.
    """
    from bench.execution import local

    mp = pytest.MonkeyPatch()
    mp.setattr(local, "usable_cores", lambda: 1)
    yield
    mp.undo()


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
    from bench.records import Cell, CellResult, SearchKey, SearchOutcome, TrialRecord
    from bench.storage.store import Store

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
                SearchKey(dataset, strategy),
                SearchOutcome({"learning_rate": 0.001}, (TrialRecord("0", "COMPLETED", 0.5, {}, ""),), 1.0),
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
        train = [50, 10, 2][:k] + [2] * (k - 3)
        store.start_cell(cell.key)
        store.finish_cell(
            cell.key,
            CellResult(
                hyperparameters={"learning_rate": 0.001},
                history={"loss": [1.0, 0.8, 0.7], "val_loss": [1.1, 0.9, 0.9], "val_macro_f1": [0.3, 0.5, 0.6]},
                seconds=1.0 + n,
                class_counts={"train": train, "val": [5] * k, "test": [10] * k},
                samples_per_epoch=62,
                sample_id=np.arange(len(y_true)),
                y_true=y_true,
                y_pred=y_pred,
                proba=proba,
                val_logits=np.zeros((5, k), "float32"),
                logits=np.log(np.clip(proba, 1e-6, 1)),
                metrics=score(y_true, y_pred, proba, np.add(train, 5)),
            ),
        )
    for i, cell in enumerate(cells[len(finished) :]):
        if i == 0:
            store.start_cell(cell.key)
            store.fail_cell(cell.key, "RuntimeError: boom")
    store.close()
    return directory


@pytest.fixture
def notes(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """The `bench` logger's notes; it does not propagate to the root logger, where caplog listens."""
    logger = logging.getLogger("bench")
    logger.addHandler(caplog.handler)
    with caplog.at_level(logging.INFO, logger="bench"):
        yield caplog
    logger.removeHandler(caplog.handler)


@pytest.fixture(autouse=True)
def private_image_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test decodes into its own cache, never the user's."""
    cache = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("IMBALANCE_BENCH_CACHE", str(cache))
    return cache


def write_image_folder(root: Path, counts: dict[str, int], size: int = 16, seed: int = 0) -> Path:
    """PNG files in one sub-folder per class, drawn like synthetic-images (one shape per class)."""
    import numpy as np
    from PIL import Image

    from bench.data.synthetic import synthetic_images

    classes = max(len(counts), 2)  # synthetic-images draws at least two classes; equal sizes (ratio 1)
    drawn = synthetic_images(classes, classes * max(5, *counts.values()), size, "exp", 1.0, 0.5, seed)
    for label, (name, count) in enumerate(counts.items()):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        rows = np.flatnonzero(drawn.y == label)[:count]
        for i, row in enumerate(rows):
            Image.fromarray((drawn.x[row] * 255).astype("uint8")).save(folder / f"{i:04d}.png")
    return root


def write_csv(path: Path, rows: int = 120, seed: int = 0) -> Path:
    """A table with numeric columns on different scales, a categorical column and a text target."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    label = rng.choice(["common", "rare", "usual"], size=rows, p=[0.6, 0.1, 0.3])
    frame = pd.DataFrame(
        {
            "amount": rng.normal(1000, 300, rows) + 400 * (label == "rare"),
            "age": rng.integers(18, 90, rows),
            "channel": rng.choice(["web", "shop", "phone"], size=rows),
            "label": label,
        }
    )
    frame.to_csv(path, index=False)
    return path
