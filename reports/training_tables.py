"""The report's training tables of one dataset: chosen hyperparameters, kept epochs of deferred weights, and cost."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from bench.storage.rows import Status
from reports.formatting import fmt, format_hyperparameters, spread
from reports.results import StudyData


@dataclass(frozen=True)
class HyperparameterRow:
    """A strategy's (or, with per-seed tuning, a strategy and seed's) best hyperparameters, formatted."""

    strategy: str
    values: str


def hyperparameters(data: StudyData, dataset: str, strategies: list[str]) -> list[HyperparameterRow]:
    """Each finished search's best hyperparameters, in the study's strategy order."""
    best = {  # per strategy, or per strategy and seed with per-seed tuning
        (r.strategy, int(r.seed)): json.loads(r.best_hp)
        for r in data.searches.itertuples()
        if r.dataset == dataset and r.status == Status.DONE
    }
    return [
        HyperparameterRow(f"{s} (seed {seed})" if seed else s, format_hyperparameters(values))
        for s in strategies
        for (name, seed), values in best.items()
        if name == s
    ]


@dataclass(frozen=True)
class KeptEpochs:
    """Over a strategy's deferred-weight runs: when weights switched on, the kept epochs, how many kept them on."""

    strategy: str
    weights_from: str
    kept: str
    on: str


def kept_epochs(cells: pd.DataFrame, strategies: list[str]) -> list[KeptEpochs]:
    """Per strategy whose weights switch on mid-training (deferred re-weighting): whether each final run's kept
    epoch had them on, so a reader sees that the scored models are the ones the strategy describes."""
    done = cells[cells.status == Status.DONE]
    rows = []
    for strategy in strategies:
        runs = list(done[done.strategy == strategy].history)
        deferred = [r for r in runs if (r.get("weights_from_epoch") or 1) > 1]
        if deferred:
            on = sum(r["kept_epoch"] >= r["weights_from_epoch"] for r in deferred)
            rows.append(
                KeptEpochs(
                    strategy,
                    weights_from=spread([float(r["weights_from_epoch"]) for r in deferred]),
                    kept=spread([float(r["kept_epoch"]) for r in deferred]),
                    on=f"{on} of {len(deferred)}",
                )
            )
    return rows


def _mean_steps(histories: pd.Series) -> float:
    """Mean optimiser steps of the final runs that recorded them (post-hoc cells reuse a model and took none)."""
    steps = [h["optimiser_steps"] for h in histories if "optimiser_steps" in h]
    return float(np.mean(steps)) if steps else math.nan


def cost_table(data: StudyData, dataset: str, strategies: list[str]) -> pd.DataFrame:
    """Per strategy: wall time of tuning and final runs, the part inside fit/predict, and the harness overhead."""
    # A strategy has one search, or one per seed with per-seed tuning: their times add up.
    searches = data.searches[data.searches.dataset == dataset].groupby("strategy")[["seconds", "compute_seconds"]]
    searches = searches.sum(min_count=1)
    cells = data.cells[(data.cells.dataset == dataset) & (data.cells.status == Status.DONE)]
    epochs = data.histories[data.histories.dataset == dataset].groupby(["strategy", "seed"]).epoch.max()
    epochs = epochs.groupby(level="strategy").mean()
    trials = data.trials[data.trials.dataset == dataset].strategy.value_counts()
    by_strategy = dict(list(cells.groupby("strategy", sort=False)))  # one split, not a filter per strategy
    rows = []
    for strategy in strategies:
        mine = by_strategy.get(strategy, cells.iloc[:0])
        tuning = float(searches.seconds.get(strategy, math.nan))
        final = float(mine.seconds.sum()) if len(mine) else math.nan
        search_compute = float(searches.compute_seconds.get(strategy, math.nan))
        timed = mine[mine.compute_seconds.notna()]  # cells from older stores have no fit/predict time
        compute = float(np.nansum([search_compute, *timed.compute_seconds]))
        timed_s = (0.0 if math.isnan(search_compute) else tuning) + float(timed.seconds.sum())
        rows.append(
            {
                "strategy": strategy,
                "tuning_s": tuning,
                "final_s": final,
                "compute_s": compute,
                "timed_s": timed_s,
                "overhead": (timed_s - compute) / compute if compute > 0 else math.nan,
                "per_seed_s": float(mine.seconds.mean()) if len(mine) else math.nan,
                "epochs": float(epochs.get(strategy, math.nan)),
                "samples_per_epoch": float(mine.samples_per_epoch.mean()) if len(mine) else math.nan,
                "steps": _mean_steps(mine.history),
                "trials": int(trials.get(strategy, 0)),
            }
        )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class CostRow:
    """One strategy's line of the cost table, formatted (seconds to one decimal, overhead as a percentage)."""

    strategy: str
    tuning_s: str
    trials: str
    final_s: str
    per_seed_s: str
    compute_s: str
    overhead: str
    epochs: str
    samples_per_epoch: str
    steps: str


def cost_rows(cost: pd.DataFrame) -> list[CostRow]:
    """The cost table as shown: every float to one decimal, except the overhead, a percentage."""
    shown = [f.name for f in fields(CostRow) if f.name != "overhead"]
    return [
        CostRow(
            **{k: str(fmt(row[k], 1) if isinstance(row[k], float) else row[k]) for k in shown},
            overhead="n/a" if math.isnan(row["overhead"]) else f"{row['overhead']:.0%}",
        )
        for row in cost.to_dict("records")
    ]


def overall_overhead(cost: pd.DataFrame) -> str:
    """Time in tuning and final runs spent outside model.fit and predict, relative to the time inside them."""
    inside, total = cost.compute_s.sum(), cost.timed_s.sum()
    if not inside > 0:
        return "n/a (no timing recorded)"
    return (
        f"{(total - inside) / inside:.1%} ({fmt(total - inside, 1)} s outside fit/predict, {fmt(inside, 1)} s inside)"
    )
