"""The report's score tables of one dataset: the ranked summary, mean ± std tables and the paired comparisons."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bench.metrics import GROUPS, SUMMARY
from reports.formatting import fmt, fmt_p
from reports.stats import Interval, RankBlock, compare_to_baseline, mean_interval, rank_block

HEADLINE = ("macro_f1", "macro_recall")  # in the summary with any chosen metric
PROBABILITY = ("macro_pr_auc", "macro_roc_auc", "brier", "log_loss", "ece")
WORST_CLASS = ("worst_class_recall", "worst_class_f1")
ALSO_COMPARED = ("macro_pr_auc", "ece", "worst_class_recall")  # against baseline, beside the summary's metrics
GROUP_COLUMNS = tuple(f"{group}_{name}" for group in GROUPS for name in HEADLINE)


def shown_metrics(metric: str) -> list[str]:
    """The summary's metrics: the one the report ranks by, then macro-F1 and macro-recall."""
    return list(dict.fromkeys((metric, *HEADLINE)))


def compared_metrics(metric: str) -> list[str]:
    """What is tested against baseline: the summary's metrics, then what a gain may cost."""
    return list(dict.fromkeys((*shown_metrics(metric), *ALSO_COMPARED)))


def order_key(value: float, metric: str) -> float:
    """Sort key putting the best value of `metric` first and a missing one last."""
    if math.isnan(value):
        return math.inf
    return -value if SUMMARY[metric].higher_is_better else value


@dataclass(frozen=True)
class Score:
    """One metric's cells of a summary row, formatted."""

    mean: str
    std: str
    ci: str


@dataclass(frozen=True)
class SummaryRow:
    """One strategy's summary line; `intervals` holds every summary metric's, for the report's other tables."""

    rank: str
    strategy: str
    ranked: bool
    seeds: str
    intervals: dict[str, Interval]
    scores: tuple[Score, ...]


def summary(results: pd.DataFrame, strategies: list[str], metric: str) -> tuple[list[SummaryRow], RankBlock]:
    """One row per strategy: ranked rows over the seeds all ranked strategies have, best first by `metric`;
    then the strategies short of seeds, over their own seeds and unranked."""
    block = rank_block(results.dropna(subset=[metric]), strategies)
    metrics = [m for m in SUMMARY if m in results]
    by_strategy = dict(list(results.groupby("strategy", sort=False)))
    rows = []
    for strategy in strategies:
        ranked = strategy in block.strategies
        scores = by_strategy[strategy]
        scores = scores[scores.seed.isin(block.seeds)] if ranked else scores
        seeds = str(len(scores)) if ranked else f"{len(scores)} of {len(block.seeds)}: not ranked"
        columns = scores[metrics].to_numpy(dtype=float).T  # one array, not a Series per metric
        intervals = {m: mean_interval(values[~np.isnan(values)]) for m, values in zip(metrics, columns, strict=True)}
        rows.append((ranked, strategy, seeds, intervals))
    rows.sort(key=lambda r: (not r[0], order_key(r[3][metric].mean, metric)))
    shown = shown_metrics(metric)
    return [
        SummaryRow(str(rank) if ranked else "–", strategy, ranked, seeds, intervals, _scores(intervals, shown))
        for rank, (ranked, strategy, seeds, intervals) in enumerate(rows, start=1)
    ], block


def _scores(intervals: dict[str, Interval], metrics: list[str]) -> tuple[Score, ...]:
    return tuple(
        Score(fmt(intervals[m].mean), fmt(intervals[m].std), f"[{fmt(intervals[m].low)}, {fmt(intervals[m].high)}]")
        for m in metrics
    )


@dataclass(frozen=True)
class ValuesRow:
    """A strategy's formatted values, one per column of a table (and the metric, where rows are per metric)."""

    strategy: str
    values: list[str]
    metric: str = ""


def mean_table(summary: list[SummaryRow], metrics: tuple[str, ...]) -> list[ValuesRow]:
    """Mean ± std over the same seeds as the summary, one column per metric, rows in the summary's order."""
    return [
        ValuesRow(
            row.strategy,
            [
                f"{fmt(row.intervals[m].mean)} ± {fmt(row.intervals[m].std)}"
                if not math.isnan(row.intervals[m].mean)
                else "n/a"
                for m in metrics
            ],
        )
        for row in summary
    ]


def comparisons(results: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Paired differences to baseline for the summary's metrics and PR-AUC, ECE and worst-class recall."""
    if "baseline" not in set(results.strategy):
        return pd.DataFrame(columns=["strategy", "metric"])
    return pd.concat(
        [
            compare_to_baseline(results, m, higher_is_better=SUMMARY[m].higher_is_better)
            for m in compared_metrics(metric)
        ],
        ignore_index=True,
    )


@dataclass(frozen=True)
class ComparisonRow:
    """One strategy and metric against baseline, formatted."""

    strategy: str
    metric: str
    n: int
    difference: str
    ci: str
    test: str
    p: str
    p_holm: str
    verdict: str
    p_better: str


def comparison_rows(frame: pd.DataFrame) -> list[ComparisonRow]:
    """The comparisons table: each metric labelled with its direction where lower is better."""
    return [
        ComparisonRow(
            strategy=r.strategy,
            metric=SUMMARY[r.metric].label + ("" if SUMMARY[r.metric].higher_is_better else " (lower is better)"),
            n=r.n,
            difference=f"{r.mean_difference:+.3f}",
            ci=f"[{fmt(r.ci_low)}, {fmt(r.ci_high)}]",
            test=r.test,
            p=fmt_p(r.p),
            p_holm=fmt_p(r.p_holm),
            verdict=r.verdict,
            p_better=f"{fmt(r.p_better, 2)} [{fmt(r.p_better_low, 2)}, {fmt(r.p_better_high, 2)}]",
        )
        for r in frame.itertuples()
    ]


def group_frame(results: pd.DataFrame, strategies: list[str]) -> pd.DataFrame:
    """Long frame of head/medium/tail macro-F1 and macro-recall, one row per strategy, seed, group and metric."""
    rows = []
    for group in GROUPS:
        for name, label in (("macro_f1", "macro-F1"), ("macro_recall", "macro-recall")):
            column = f"{group}_{name}"
            if column in results and results[column].notna().any():
                part = results[["strategy", "seed", column]].dropna().rename(columns={column: "value"})
                rows.append(part.assign(group=group, metric=label))
    if not rows:
        return pd.DataFrame(columns=["strategy", "seed", "value", "group", "metric"])
    frame = pd.concat(rows, ignore_index=True)
    return frame[frame.strategy.isin(strategies)]
