"""Harness overhead on a fixed tiny study: time outside model.fit/predict relative to the time inside.

digits-lt, baseline and oversample, 2 seeds, 3 tuning trials of up to 8
epochs, run serially (`--workers 1`) as `bench run` does (data, tuning bookkeeping,
evaluation, store, report). `extra_info["overhead"]` is the figure the
report's cost section shows, from the timings in the store (tuning and final
runs); `whole_run_overhead` also counts what surrounds them in `run_study`
(model checks, store, report).
"""

from __future__ import annotations

import io
import time
from itertools import count
from pathlib import Path

from bench.config import build_config
from bench.execution.plan import prepare
from bench.execution.progress import PlainProgress
from bench.execution.runner import run_study
from bench.storage.store import Store
from reports.results import load
from reports.training_tables import cost_table

STUDY = {"profile": "smoke", "strategies": ["baseline", "oversample"], "seeds": 2, "max_trials": 3, "epochs": 8,
         "workers": 1}  # fmt: skip


def test_tiny_study_overhead(benchmark, tmp_path: Path):
    runs, walls = count(), []

    def study() -> Path:
        out = tmp_path / f"study-{next(runs)}"
        started = time.perf_counter()
        run_study(prepare(build_config({}, {**STUDY, "out": str(out)})), False, PlainProgress(io.StringIO()))
        walls.append(time.perf_counter() - started)
        return out

    out = benchmark.pedantic(study, rounds=3, iterations=1)
    store = Store.open_existing(out)
    try:
        data = load(store)
    finally:
        store.close()
    cost = cost_table(data, "digits-lt", data.strategies)
    inside, total = cost.compute_s.sum(), cost.timed_s.sum()
    assert 0 < inside < total, "timings recorded"
    benchmark.extra_info.update(
        {"inside_fit_predict_s": round(inside, 2), "outside_s": round(total - inside, 2),
         "overhead": round((total - inside) / inside, 3), "whole_run_overhead": round(walls[-1] / inside - 1, 3)}
    )  # fmt: skip
