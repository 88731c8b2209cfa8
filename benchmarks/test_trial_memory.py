"""Resident memory over 50 keras-tuner trials in one process: it should stay flat.

Each trial builds a fresh model (after keras.backend.clear_session()) and
fits one epoch on digits-lt; a leak of graphs, models or callbacks would show
as memory growing with the trial count. Records the resident set size after
trial 5 and after trial 50 (`extra_info`), read from /proc (Linux). The
setup ends as a worker's does (bench.execution.executors.prepare_worker): long-lived
objects frozen out of garbage collection, so the time per trial is the
harness's.
"""

from __future__ import annotations

import gc
import os

from bench.backend import enable_determinism, freeze_long_lived_objects
from bench.config import TrainingOptions
from bench.data.features import fold_features
from bench.data.sources import DATASETS
from bench.data.splits import make_fold
from bench.specs import parse_spec
from bench.training.hypermodel import FoldData, ImbalanceHyperModel
from bench.training.models import resolve_model
from bench.training.tuning import search
from strategies import resolve

TRIALS = 50


def resident_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def test_memory_over_fifty_trials(benchmark, tmp_path):
    enable_determinism()
    digits = DATASETS.create(parse_spec("digits-lt"))
    fold = make_fold(digits, 1, False, 0.2)
    features = fold_features(digits, fold)
    arrays = FoldData(features.train, digits.y[fold.train], features.val, digits.y[fold.val], digits.num_classes)
    _, builder = resolve_model("mlp", digits.input_shape)
    resident: list[float] = []
    freeze_long_lived_objects()
    hypermodel = ImbalanceHyperModel(
        builder,
        resolve("baseline"),
        arrays,
        1,
        TrainingOptions(max_trials=TRIALS, epochs=1, patience=1, tuner_seed=3),
        on_fit_end=lambda: resident.append(resident_mb()),
    )

    def fifty_trials():
        return search(hypermodel, hypermodel.options, directory=tmp_path, project="memory")

    try:
        result = benchmark.pedantic(fifty_trials, rounds=1, iterations=1)
    finally:
        gc.unfreeze()  # later benchmarks in this process get their objects collected again
    assert result.best is not None and len(resident) == TRIALS, "every trial ran (a small space is never used up)"
    benchmark.extra_info.update(
        {
            "resident_mb_after_5": round(resident[4], 1),
            "resident_mb_after_50": round(resident[-1], 1),
            "growth": round(resident[-1] / resident[4] - 1, 3),
        }
    )
