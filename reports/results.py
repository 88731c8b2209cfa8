"""The store read once into tidy pandas frames; every number in a report derives from these."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from bench.metrics import SUMMARY_METRICS, counted_confusion, reliability_bins
from bench.storage.rows import Status
from bench.storage.store import Store

RESULT_KEYS = ["dataset", "strategy", "seed"]


@dataclass(frozen=True)
class StudyData:
    """Everything a report shows, loaded from the store in one pass."""

    config: dict[str, Any]
    meta: dict[str, str]
    environment: dict[str, str]
    class_names: dict[str, list[str]]
    cells: pd.DataFrame  # one row per planned cell, any status; history and class_counts parsed from JSON
    results: pd.DataFrame  # finished cells x summary metrics (wide)
    per_class: pd.DataFrame  # finished cells x class x metric (long)
    histories: pd.DataFrame  # finished cells x epoch (long in epochs, wide in logged values)
    searches: pd.DataFrame
    trials: pd.DataFrame
    confusion: dict[tuple[str, str], np.ndarray]  # (dataset, strategy) -> counts pooled over seeds
    reliability: dict[tuple[str, str], np.ndarray]  # (dataset, strategy) -> samples, confidence, correct per bin

    @property
    def datasets(self) -> list[str]:
        return list(dict.fromkeys(self.cells["dataset"]))

    @property
    def strategies(self) -> list[str]:
        return list(dict.fromkeys(self.cells["strategy"]))

    def by_dataset(self) -> dict[str, StudyData]:
        """The study cut into one part per dataset, each frame split once (filtering per dataset rescans them all)."""
        parts = {name: dict(list(getattr(self, name).groupby("dataset", sort=False))) for name in DATASET_FRAMES}
        return {
            dataset: replace(
                self,
                **{name: parts[name].get(dataset, getattr(self, name).iloc[:0]) for name in DATASET_FRAMES},
                confusion={k: v for k, v in self.confusion.items() if k[0] == dataset},
                reliability={k: v for k, v in self.reliability.items() if k[0] == dataset},
            )
            for dataset in self.datasets
        }


DATASET_FRAMES = ("cells", "results", "per_class", "histories", "searches", "trials")


TIMINGS = {"seconds": float, "compute_seconds": float}  # NULL (not recorded) becomes NaN, not None


def _frame(rows: list[Any], columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame([r.stored() for r in rows], columns=columns)
    return frame.astype({k: v for k, v in TIMINGS.items() if k in frame.columns})


def metric_frame(rows: list[tuple[str, str, int, float]], cells: pd.DataFrame) -> pd.DataFrame:
    """The finished cells' metric rows, long: dataset, strategy, seed, position, name, class_index, value."""
    metrics = pd.DataFrame.from_records(rows, columns=["key", "name", "class_index", "value"])
    done = cells.loc[cells.status == Status.DONE, ["key", *RESULT_KEYS, "position"]]
    return done.merge(metrics, on="key").drop(columns="key")


def results_frame(metric_rows: pd.DataFrame) -> pd.DataFrame:
    """One row per finished (dataset, strategy, seed), one column per summary metric, in study order."""
    columns = [*RESULT_KEYS, *SUMMARY_METRICS]
    overall = metric_rows[metric_rows.class_index == -1]
    if overall.empty:
        return pd.DataFrame(columns=columns)
    wide = overall.pivot_table(index=["position", *RESULT_KEYS], columns="name", values="value").reset_index()
    return wide.reindex(columns=columns)  # sorted by position; a metric no cell has: NaN


def _per_class(metric_rows: pd.DataFrame) -> pd.DataFrame:
    per_class = metric_rows[metric_rows.class_index >= 0].rename(columns={"name": "metric"})
    return per_class.drop(columns="position").reset_index(drop=True)


def _histories(cells: pd.DataFrame) -> pd.DataFrame:
    """One row per epoch of every finished cell's final run (records first, one frame at the end: fast at 10,000)."""
    records = []
    for row in cells[cells.status == Status.DONE].itertuples():
        history = row.history
        per_epoch = {
            k: v
            for k, v in history.items()
            if isinstance(v, list) and k not in ("val_recall_per_class", "val_confusion")
        }
        epochs = max(map(len, per_epoch.values()), default=0)
        cell = {"dataset": row.dataset, "strategy": row.strategy, "seed": row.seed}
        records += [
            {"epoch": i + 1, **{k: v[i] for k, v in per_epoch.items() if i < len(v)}, **cell} for i in range(epochs)
        ]
    return pd.DataFrame(records) if records else pd.DataFrame(columns=["epoch", *RESULT_KEYS])


def load(store: Store) -> StudyData:
    class_names = store.class_names()
    cells = _frame(
        store.cells(),
        [
            "key",
            *RESULT_KEYS,
            "position",
            "status",
            "attempts",
            "started_at",
            "finished_at",
            "seconds",
            "compute_seconds",
            "error",
            "hyperparameters",
            "history",
            "class_counts",
            "samples_per_epoch",
        ],
    )
    for column in ("history", "class_counts"):  # parsed once, as the report reads them many times
        cells[column] = [json.loads(value) if isinstance(value, str) else None for value in cells[column]]
    metric_rows = metric_frame(store.metrics(), cells)
    pooled: dict[tuple[str, str], np.ndarray] = {}
    bins: dict[tuple[str, str], np.ndarray] = {}
    for row, arrays in store.predictions(("y_true", "y_pred", "proba")):
        key = (row["dataset"], row["strategy"])
        counts = counted_confusion(arrays["y_true"], arrays["y_pred"], len(class_names[row["dataset"]]))
        pooled[key] = pooled.get(key, 0) + counts
        bins[key] = bins.get(key, 0) + np.array(reliability_bins(arrays["y_true"], arrays["proba"]))
    keys = ("created_at", "last_run_started", "last_run_finished", "fingerprint", "protocol")
    meta = {k: store.meta(k) or "" for k in keys}
    return StudyData(
        config=store.config,
        meta=meta,
        environment=json.loads(store.meta("environment") or "{}"),
        class_names=class_names,
        cells=cells,
        results=results_frame(metric_rows),
        per_class=_per_class(metric_rows),
        histories=_histories(cells),
        searches=_frame(
            store.searches(),
            ["dataset", "strategy", "seed", "status", "best_hp", "seconds", "error", "compute_seconds"],
        ),
        trials=_frame(
            store.trials(),
            ["dataset", "strategy", "seed", "trial_id", "status", "objective", "hyperparameters", "message"],
        ),
        confusion=pooled,
        reliability=bins,
    )
