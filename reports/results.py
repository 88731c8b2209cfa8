"""The store as tidy pandas frames; everything in a report is derived from these."""

from __future__ import annotations

import json

import pandas as pd

from bench.metrics import SUMMARY_METRICS
from bench.store import Store

RESULT_KEYS = ["dataset", "strategy", "seed"]


def results_frame(store: Store) -> pd.DataFrame:
    """One row per finished (dataset, strategy, seed), one column per summary metric."""
    rows = [dict(row) for row in store.metrics() if row["class_index"] == -1]
    columns = [*RESULT_KEYS, *SUMMARY_METRICS]
    if not rows:
        return pd.DataFrame(columns=columns)
    long = pd.DataFrame(rows)
    wide = long.pivot_table(index=RESULT_KEYS, columns="name", values="value", sort=False).reset_index()
    order = {(c["dataset"], c["strategy"], c["seed"]): c["position"] for c in store.cells()}
    wide["position"] = [order[key] for key in zip(wide.dataset, wide.strategy, wide.seed, strict=True)]
    return wide.sort_values("position")[columns].reset_index(drop=True)


def summary_frame(results: pd.DataFrame, metrics: tuple[str, ...] = ("macro_f1", "macro_recall")) -> pd.DataFrame:
    """Mean and sample std over seeds per (dataset, strategy), in study order."""
    grouped = results.groupby(["dataset", "strategy"], sort=False)[list(metrics)]
    summary = grouped.agg(["mean", "std", "count"])
    summary.columns = [f"{metric}_{stat}" for metric, stat in summary.columns]
    return summary.reset_index()


def cells_frame(store: Store) -> pd.DataFrame:
    return pd.DataFrame([dict(row) for row in store.cells()])


def best_hyperparameters(store: Store) -> dict[tuple[str, str], dict[str, object]]:
    return {(row["dataset"], row["strategy"]): json.loads(row["best_hp"]) for row in store.searches() if row["best_hp"]}
