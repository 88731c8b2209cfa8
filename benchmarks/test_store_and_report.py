"""The store and the report at 10,000 cells (10 datasets x 20 strategies x 50 seeds).

Writing: each cell as the driver records it (start, then metrics, predictions
and status in one transaction), 300 test samples of 10 classes per cell.
Reading: the whole store into the report's tidy frames. Rendering: report.md,
report.html, figures and results.csv from those frames, first from nothing, then
again with every figure's inputs unchanged.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.metrics import score
from bench.records import Cell, CellResult, SearchKey, SearchOutcome
from bench.storage.store import Store
from reports import write_report
from reports.figures import MANIFEST
from reports.results import load

DATASETS = [f"data-{d}" for d in range(10)]
STRATEGIES = ["baseline", *(f"strategy-{s}" for s in range(19))]
SEEDS, CLASSES, TEST_ROWS = range(1, 51), 10, 300
CELLS = [
    Cell(f"{d}-{s}-{seed}", d, s, seed, position)
    for position, (d, s, seed) in enumerate((d, s, seed) for d in DATASETS for s in STRATEGIES for seed in SEEDS)
]
CONFIG = {"name": "big", "profile": "quick", "model": "mlp", "tuner": "random", "max_trials": 4, "epochs": 3,
          "patience": 1, "seeds": len(SEEDS)}  # fmt: skip


def results(count: int) -> list[CellResult]:
    """A few distinct results to cycle through, so the report has differences to test."""
    rng = np.random.default_rng(0)
    y_true = np.repeat(np.arange(CLASSES), TEST_ROWS // CLASSES)
    made = []
    for _ in range(count):
        y_pred = np.where(rng.random(TEST_ROWS) < 0.8, y_true, rng.integers(0, CLASSES, TEST_ROWS))
        logits = rng.normal(size=(TEST_ROWS, CLASSES)).astype("float32")
        made.append(
            CellResult(
                hyperparameters={"learning_rate": 0.001},
                history={"loss": [1.0, 0.8, 0.7], "val_loss": [1.1, 0.9, 0.9], "val_macro_f1": [0.3, 0.5, 0.6]},
                seconds=1.0,
                class_counts={"train": [50] * CLASSES, "val": [5] * CLASSES, "test": [30] * CLASSES},
                samples_per_epoch=500,
                sample_id=np.arange(TEST_ROWS),
                y_true=y_true,
                y_pred=y_pred,
                proba=np.eye(CLASSES, dtype="float32")[y_pred],
                val_logits=logits[:50],
                logits=logits,
                metrics=score(y_true, y_pred, np.eye(CLASSES, dtype="float32")[y_pred], np.full(CLASSES, 55)),
            )
        )
    return made


def write(directory: Path, made: list[CellResult]) -> Path:
    store = Store.for_study(directory, CONFIG, "big", overwrite=False)
    try:
        for dataset in DATASETS:
            store.add_dataset(dataset, tuple(str(c) for c in range(CLASSES)), "mlp")
            for strategy in STRATEGIES:
                store.save_search(SearchKey(dataset, strategy), SearchOutcome({"learning_rate": 0.001}, (), 1.0))
        store.add_cells(CELLS)
        for i, cell in enumerate(CELLS):
            store.start_cell(cell.key)
            store.finish_cell(cell.key, made[i % len(made)])
    finally:
        store.close()
    return directory


@pytest.fixture(scope="module")
def big_study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write(tmp_path_factory.mktemp("big"), results(7))


def test_write_10000_cells(benchmark, tmp_path):
    made = results(7)
    rounds = iter(range(10))
    directory = benchmark.pedantic(
        write, setup=lambda: ((tmp_path / f"round-{next(rounds)}", made), {}), rounds=1, iterations=1
    )
    assert len(Store.open_existing(directory).cells()) == len(CELLS)
    benchmark.extra_info["cells"] = len(CELLS)


def test_read_10000_cells(benchmark, big_study):
    def read():
        store = Store.open_existing(big_study)
        try:
            return load(store)
        finally:
            store.close()

    data = benchmark.pedantic(read, rounds=3, iterations=1)
    assert len(data.results) == len(CELLS)


def test_render_report_of_10000_cells(benchmark, big_study):
    store = Store.open_existing(big_study)
    try:
        report = benchmark.pedantic(write_report, args=(store, big_study), rounds=1, iterations=1)
    finally:
        store.close()
    assert report.is_file() and (big_study / "report.html").stat().st_size > 0


def test_render_again_with_the_figures_unchanged(benchmark, big_study):
    """What `bench report --metric ...` or a resumed study costs: every figure's inputs are the same, so
    none is drawn again (the cold render above draws all 81)."""
    store = Store.open_existing(big_study)
    try:
        if not (big_study / "figures" / MANIFEST).is_file():
            write_report(store, big_study)  # run alone: the first render, untimed
        benchmark.pedantic(write_report, args=(store, big_study), kwargs={"metric": "ece"}, rounds=1, iterations=1)
    finally:
        store.close()
    assert "ECE" in (big_study / "report.md").read_text()
