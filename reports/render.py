"""Assemble the report from the store: context once, then Markdown and HTML from templates.

`bench report DIR` calls this without training anything; it never imports a
Keras backend, and it renders partial studies (missing cells are listed).
"""

from __future__ import annotations

import datetime
import json
import math
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd
from markdown_it import MarkdownIt
from markupsafe import Markup

from bench.config import THIN_VALIDATION, check_metric
from bench.errors import UserError
from bench.metrics import ECE_BINS, GROUPS, SUMMARY, class_groups
from bench.specs import format_value, parse_spec
from bench.storage.files import slug, write_atomically
from bench.storage.store import Store
from reports import figures
from reports.findings import findings
from reports.results import StudyData, load
from reports.stats import (
    MIN_TASKS_FOR_FRIEDMAN,
    RankBlock,
    common_seed_means,
    compare_to_baseline,
    friedman,
    mean_interval,
    mean_ranks,
    rank_block,
)

HEADLINE = ("macro_f1", "macro_recall")  # in the summary with any chosen metric
PROBABILITY = ("macro_pr_auc", "macro_roc_auc", "brier", "log_loss", "ece")
WORST_CLASS = ("worst_class_recall", "worst_class_f1")
ALSO_COMPARED = ("macro_pr_auc", "ece", "worst_class_recall")  # against baseline, beside the summary's metrics
GROUP_COLUMNS = tuple(f"{group}_{name}" for group in GROUPS for name in HEADLINE)


def shown_metrics(metric: str) -> list[str]:
    """The summary's metrics: the one the report ranks by, then macro-F1 and macro-recall."""
    return list(dict.fromkeys((metric, *HEADLINE)))


def order_key(value: float, metric: str) -> float:
    """Sort key putting the best value of `metric` first and a missing one last."""
    if math.isnan(value):
        return math.inf
    return -value if SUMMARY[metric].higher_is_better else value


TEMPLATES = jinja2.PackageLoader("reports", "templates")


def fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def fmt_p(value: float) -> str:
    return "n/a" if math.isnan(value) else ("< 0.001" if value < 0.001 else f"{value:.3f}")


def markdown_cell(value: object) -> str:
    """Text safe inside a Markdown table cell: no pipes or line breaks, HTML escaped."""
    text = str(value).replace("\n", " ").replace("|", "\\|")
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def format_hyperparameters(values: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in sorted(values.items()))


def when(timestamp: str) -> str:
    if not timestamp:
        return "n/a"
    return datetime.datetime.fromtimestamp(float(timestamp), datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _seed_list(seeds: list[int]) -> str:
    return ("seed " if len(seeds) == 1 else "seeds ") + ", ".join(map(str, seeds))


def _summary(results: pd.DataFrame, strategies: list[str], metric: str) -> tuple[list[dict[str, Any]], RankBlock]:
    """One row per strategy: ranked rows over the seeds all ranked strategies have, best first by `metric`;
    then the strategies short of seeds, over their own seeds and unranked. Each row holds every summary
    metric's interval (`intervals`) for the report's other tables."""
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
        row: dict[str, Any] = {"strategy": strategy, "ranked": ranked, "seeds": seeds, "intervals": intervals}
        row["scores"] = [
            {
                "mean": fmt(intervals[m].mean),
                "std": fmt(intervals[m].std),
                "ci": f"[{fmt(intervals[m].low)}, {fmt(intervals[m].high)}]",
            }
            for m in shown_metrics(metric)
        ]
        rows.append(row)
    rows.sort(key=lambda r: (not r["ranked"], order_key(r["intervals"][metric].mean, metric)))
    for rank, row in enumerate(rows, start=1):
        row["rank"] = str(rank) if row["ranked"] else "–"
    return rows, block


def _mean_table(summary: list[dict[str, Any]], metrics: tuple[str, ...]) -> list[dict[str, Any]]:
    """Mean ± std over the same seeds as the summary, one column per metric, rows in the summary's order."""
    return [
        {
            "strategy": row["strategy"],
            "values": [
                f"{fmt(row['intervals'][m].mean)} ± {fmt(row['intervals'][m].std)}"
                if not math.isnan(row["intervals"][m].mean)
                else "n/a"
                for m in metrics
            ],
        }
        for row in summary
    ]


def compared_metrics(metric: str) -> list[str]:
    return list(dict.fromkeys((*shown_metrics(metric), *ALSO_COMPARED)))


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


def _comparisons(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {
            "strategy": r.strategy,
            "metric": SUMMARY[r.metric].label + ("" if SUMMARY[r.metric].higher_is_better else " (lower is better)"),
            "n": r.n,
            "difference": f"{r.mean_difference:+.3f}",
            "ci": f"[{fmt(r.ci_low)}, {fmt(r.ci_high)}]",
            "test": r.test,
            "p": fmt_p(r.p),
            "p_holm": fmt_p(r.p_holm),
            "verdict": r.verdict,
            "p_better": f"{fmt(r.p_better, 2)} [{fmt(r.p_better_low, 2)}, {fmt(r.p_better_high, 2)}]",
        }
        for r in frame.itertuples()
    ]


def _group_frame(results: pd.DataFrame, strategies: list[str]) -> pd.DataFrame:
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


def _groups_text(cells: pd.DataFrame, names: list[str]) -> list[str]:
    """Which classes form the head, medium and tail, from the training-pool counts of the finished cells."""
    pools = {tuple(np.add(c["train"], c["val"])) for c in cells[cells.status == "done"].class_counts}
    grouped = [class_groups(np.array(pool)) for pool in pools]  # the same pool for every strategy of a seed
    text = []
    for group, (low, high) in GROUPS.items():
        bounds = f"more than {low - 1}" if high is None else (f"under {high + 1}" if low == 0 else f"{low} to {high}")
        members = [set(groups[group]) for groups in grouped]
        always = sorted(set.intersection(*members)) if members else []
        sometimes = sorted(set.union(*members) - set(always)) if members else []
        listed = ", ".join(names[i] for i in always) or "none"
        if sometimes:
            listed += f"; on some seeds also {', '.join(names[i] for i in sometimes)}"
        text.append(f"{group} ({bounds} training-pool samples): {listed}")
    return text


def _per_class(data: StudyData, dataset: str, strategies: list[str]) -> list[dict[str, Any]]:
    frame = data.per_class[data.per_class.dataset == dataset]
    means = frame.groupby(["strategy", "metric", "class_index"])["value"].mean()
    names = data.class_names[dataset]
    rows = []
    for strategy in strategies:
        for metric in ("recall", "f1"):
            values = [means.get((strategy, metric, i), math.nan) for i in range(len(names))]
            rows.append({"strategy": strategy, "metric": metric, "values": [fmt(v, 2) for v in values]})
    return rows


def _class_counts(cells: pd.DataFrame, names: list[str]) -> tuple[pd.DataFrame, str]:
    """Counts of the first finished cell (its seed and split), for the table and the figure."""
    done = cells[cells.status == "done"]
    if done.empty:
        return pd.DataFrame(columns=["class", "split", "count"]), ""
    first = done.iloc[0]
    counts = first.class_counts
    long = pd.DataFrame(
        [
            {"class": names[i], "split": split, "count": n}
            for split, values in counts.items()
            for i, n in enumerate(values)
        ]
    )
    return long, f"seed {first.seed}, {first.strategy} split"


def _ratio(counts: list[int]) -> float:
    present = [n for n in counts if n > 0]
    return max(present) / min(present) if present else math.nan


def _spread(values: list[float]) -> str:
    low, high = min(values), max(values)
    return fmt(low, 1) if low == high else f"{fmt(low, 1)} to {fmt(high, 1)}"


def _imbalance(dataset: str, cells: pd.DataFrame) -> dict[str, str]:
    """Achieved imbalance ratios (largest / smallest class count) of every finished cell's training fold and
    training pool (train + validation), and the ratio the dataset spec requested, if it names one.

    The achieved ratio is what the models met; rounding, the minimum class size and the validation cut
    make it differ from the requested one (digits-lt[ratio=100]: n_max 144 and floor 2 give a pool of 72).
    """
    folds = list(cells[cells.status == "done"].class_counts)
    try:
        requested = parse_spec(dataset).kwargs.get("ratio")
    except UserError:  # a name that is not a spec requests nothing
        requested = None
    return {
        "train": _spread([_ratio(f["train"]) for f in folds]) if folds else "n/a",
        "pool": _spread([_ratio(np.add(f["train"], f["val"]).tolist()) for f in folds]) if folds else "n/a",
        "cells": str(len(folds)),
        "requested": "" if requested is None else format_value(requested),
    }


SPLITS = {"train": "training", "val": "validation", "test": "test"}


def _absent_classes(cells: pd.DataFrame, names: list[str]) -> list[str]:
    """Each class with no sample in a split of some finished cell, with the seeds and strategies where it is absent:
    no score on that split can judge the class, so the report names it rather than average it silently."""
    done = [(int(c.seed), c.strategy, c.class_counts) for c in cells[cells.status == "done"].itertuples()]
    text = []
    for split, word in SPLITS.items():
        for i, name in enumerate(names):
            where = [(seed, strategy) for seed, strategy, counts in done if counts[split][i] == 0]
            if where:
                seeds = _seed_list(sorted({seed for seed, _ in where}))
                text.append(f"{name} from {word} ({seeds}; {', '.join(dict.fromkeys(s for _, s in where))})")
    return text


def _thin_validation(cells: pd.DataFrame, names: list[str]) -> list[str]:
    """Each class with 1 to THIN_VALIDATION - 1 validation rows in some finished cell, with those seeds and the
    fewest rows a strategy's cut gave it there."""
    done = [(int(c.seed), c.class_counts["val"]) for c in cells[cells.status == "done"].itertuples()]
    text = []
    for i, name in enumerate(names):
        found: dict[int, int] = {}
        for seed, counts in done:
            if 0 < counts[i] < THIN_VALIDATION:
                found[seed] = min(found.get(seed, counts[i]), counts[i])
        if found:
            text.append(f"{name} (seed {', '.join(f'{seed}: {n}' for seed, n in sorted(found.items()))})")
    return text


def _kept_epochs(cells: pd.DataFrame, strategies: list[str]) -> list[dict[str, str]]:
    """Per strategy whose weights switch on mid-training (deferred re-weighting): whether each final run's kept
    epoch had them on, so a reader sees that the scored models are the ones the strategy describes."""
    done = cells[cells.status == "done"]
    rows = []
    for strategy in strategies:
        runs = list(done[done.strategy == strategy].history)
        deferred = [r for r in runs if (r.get("weights_from_epoch") or 1) > 1]
        if deferred:
            on = sum(r["kept_epoch"] >= r["weights_from_epoch"] for r in deferred)
            rows.append(
                {
                    "strategy": strategy,
                    "weights_from": _spread([float(r["weights_from_epoch"]) for r in deferred]),
                    "kept": _spread([float(r["kept_epoch"]) for r in deferred]),
                    "on": f"{on} of {len(deferred)}",
                }
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
    cells = data.cells[(data.cells.dataset == dataset) & (data.cells.status == "done")]
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


def overall_overhead(cost: pd.DataFrame) -> str:
    """Time in tuning and final runs spent outside model.fit and predict, relative to the time inside them."""
    inside, total = cost.compute_s.sum(), cost.timed_s.sum()
    if not inside > 0:
        return "n/a (no timing recorded)"
    return (
        f"{(total - inside) / inside:.1%} ({fmt(total - inside, 1)} s outside fit/predict, {fmt(inside, 1)} s inside)"
    )


def figure_name(dataset: str, figure: str) -> str:
    """The file name (without suffix) of a dataset's figure: the project's one slug, so two specs never share one."""
    return f"{slug(dataset)}-{figure}"


def _dataset_section(data: StudyData, dataset: str, palette: figures.Palette, metric: str) -> dict[str, Any]:
    strategies = data.strategies
    names = data.class_names[dataset]
    results = data.results[data.results.dataset == dataset]
    cells = data.cells[data.cells.dataset == dataset]
    counts, counts_source = _class_counts(cells, names)
    cost = cost_table(data, dataset, strategies)
    best = {  # per strategy, or per strategy and seed with per-seed tuning
        (r.strategy, int(r.seed)): json.loads(r.best_hp)
        for r in data.searches.itertuples()
        if r.dataset == dataset and r.status == "done"
    }
    histories = data.histories[data.histories.dataset == dataset]
    trials = data.trials[(data.trials.dataset == dataset) & data.trials.objective.notna()]
    done = [s for s in strategies if s in set(results.strategy)]
    summary, block = _summary(results, done, metric)
    compared = comparisons(results, metric)
    matrices = {s: data.confusion[(dataset, s)] for s in done if (dataset, s) in data.confusion}
    bins = {s: data.reliability[(dataset, s)] for s in done if (dataset, s) in data.reliability}
    groups = _group_frame(results, done)

    figs: dict[str, figures.Figure] = {}

    def add(name: str, title: str, caption: str, draw: Any, *args: Any) -> None:
        figs[name] = figures.Figure(figure_name(dataset, name), title, caption, draw, args)  # drawn by write_report

    if not counts.empty:
        add(
            "classes",
            "Class counts",
            f"Samples per class as trained ({counts_source}).",
            figures.class_counts,
            counts,
        )
    if not results.empty:
        add(
            "scores",
            "Test scores per seed",
            "Each dot is one seed's test score; diamonds are means.",
            figures.scores,
            results,
            palette,
        )
        add(
            "per-class",
            "Per-class recall and F1",
            "Mean over seeds of each class's test recall and F1.",
            figures.heatmaps,
            data.per_class[data.per_class.dataset == dataset],
            done,
            names,
        )
        add(
            "confusion",
            "Confusion matrices",
            "Test predictions pooled over seeds, each row normalised to 1.",
            figures.confusions,
            matrices,
            names,
        )
    if bins:
        eces = {row["strategy"]: row["intervals"]["ece"].mean for row in summary if "ece" in row["intervals"]}
        add(
            "reliability",
            "Reliability",
            f"Test predictions pooled over seeds in {ECE_BINS} equal-width bins of the top-label confidence: "
            "accuracy against mean confidence per bin (dot area = share of samples). On the dashed diagonal a "
            "strategy is calibrated, below it overconfident, above it underconfident; resampling, re-weighting "
            "and loss changes move these points, so compare each panel with baseline's. ECE is the mean over seeds.",
            figures.reliability,
            bins,
            eces,
            palette,
        )
    if not groups.empty:
        group_means = groups.groupby(["strategy", "group", "metric"], sort=False, as_index=False).value.mean()
        add(
            "groups",
            "Head, medium and tail classes",
            "Macro-F1 and macro-recall over the classes of each group (by training-pool count), mean over seeds.",
            figures.class_groups,
            group_means,
            palette,
        )
    if not histories.empty:
        add(
            "curves",
            "Training curves",
            "Final runs: mean over seeds, band = ±1 standard deviation; with early stopping, later epochs "
            "average only the seeds still training.",
            figures.curves,
            histories,
            palette,
        )
    if not trials.empty:
        add(
            "trials",
            "Tuning trials",
            "Objective (validation macro-F1) of every keras-tuner trial.",
            figures.trials,
            trials,
            palette,
        )
    if cost[["tuning_s", "final_s"]].notna().any().any():
        add(
            "cost",
            "Cost",
            "Wall time of tuning and of all final runs; samples seen per training epoch.",
            figures.cost,
            cost.fillna(0),
            palette,
        )

    return {
        "name": dataset,
        "summary": summary,
        "ranked_on": _seed_list(block.seeds),
        "not_ranked": [f"{s} ({n} of {len(block.seeds)} seeds)" for s, n in block.short.items()],
        "metric": SUMMARY[metric].label,
        "shown": [SUMMARY[m].label for m in shown_metrics(metric)],
        "comparisons": _comparisons(compared),
        "probability": _mean_table(summary, PROBABILITY + WORST_CLASS),
        "probability_labels": [SUMMARY[m].label for m in PROBABILITY + WORST_CLASS],
        "chance_pr_auc": fmt(1 / len(names)),
        "groups": _mean_table(summary, GROUP_COLUMNS) if not groups.empty else [],
        "group_labels": [SUMMARY[m].label for m in GROUP_COLUMNS],
        "group_members": _groups_text(cells, names),
        "findings": findings(dataset, summary, compared, cost, metric),
        "class_names": names,
        "per_class": _per_class(data, dataset, done),
        "counts": counts.pivot(index="class", columns="split", values="count")
        .loc[names]
        .reset_index()
        .to_dict("records")
        if not counts.empty
        else [],
        "counts_source": counts_source,
        "imbalance": _imbalance(dataset, cells),
        "absent": _absent_classes(cells, names),
        "thin": _thin_validation(cells, names),
        "thin_rows": THIN_VALIDATION,
        "kept_epochs": _kept_epochs(cells, strategies),
        "hyperparameters": [
            {"strategy": f"{s} (seed {seed})" if seed else s, "values": format_hyperparameters(values)}
            for s in strategies
            for (name, seed), values in best.items()
            if name == s
        ],
        "cost": [
            {k: fmt(v, 1) if isinstance(v, float) else v for k, v in row.items()}
            | {"overhead": "n/a" if math.isnan(row["overhead"]) else f"{row['overhead']:.0%}"}
            for row in cost.to_dict("records")
        ],
        "overhead": overall_overhead(cost),
        "figures": figs,
    }


def _left_out(results: pd.DataFrame, blocks: dict[str, RankBlock], ranked: list[str]) -> list[str]:
    """Strategies with results but no rank across datasets, with their seeds where they fall short."""
    text = []
    for strategy in dict.fromkeys(results.strategy):
        if strategy in ranked:
            continue
        mine = results[results.strategy == strategy]
        shortfalls = [
            f"{mine.seed[mine.dataset == d].isin(b.seeds).sum()} of {len(b.seeds)} seeds on {d}"
            for d, b in blocks.items()
            if not set(b.seeds) <= set(mine.seed[mine.dataset == d])
        ]
        text.append(f"{strategy} ({', '.join(shortfalls) or 'has every ranked seed; dropped while matching datasets'})")
    return text


def _across(data: StudyData, palette: figures.Palette, metric: str) -> dict[str, Any] | None:
    if len(data.datasets) < 2:
        return None
    higher = SUMMARY[metric].higher_is_better
    means, blocks = common_seed_means(data.results.dropna(subset=[metric]), metric)
    if means.shape[0] < 2 or means.shape[1] < 2:
        return None
    tasks = means.shape[0]
    across: dict[str, Any] = {
        "ranks": [{"strategy": s, "rank": fmt(r, 2)} for s, r in mean_ranks(means, higher).items()],
        "datasets": tasks,
        "left_out": _left_out(data.results, blocks, list(means.columns)),
        "friedman": "",
        "figure": None,
        "too_few": "",
    }
    if tasks < MIN_TASKS_FOR_FRIEDMAN:
        across["too_few"] = (
            f"Friedman test and critical-difference diagram need at least {MIN_TASKS_FOR_FRIEDMAN} datasets; "
            f"this study has {tasks} with results for every ranked strategy."
        )
        return across
    statistic, p = friedman(means)
    across["friedman"] = (
        f"chi² = {fmt(statistic, 2)}, p = {fmt_p(p)}"
        if not math.isnan(statistic)
        else "not computed (needs 3 or more strategies)"
    )
    across["figure"] = figures.Figure(
        "critical-difference",
        "Critical-difference diagram",
        f"Mean rank of {SUMMARY[metric].label} across datasets (1 = best); strategies joined by a bar are not "
        "significantly different (Nemenyi, alpha 0.05).",
        figures.critical_difference,
        (means, palette, higher),
    )
    return across


def report_context(data: StudyData, metric: str) -> dict[str, Any]:
    """Everything the templates show; its figures are drawn by write_report."""
    palette = figures.strategy_palette(data.strategies)
    cells = data.cells
    unfinished = cells[cells.status != "done"][["dataset", "strategy", "seed", "status", "error"]].fillna("")
    failed_searches = data.searches[data.searches.status == "failed"][["dataset", "strategy", "error"]]
    return {
        "config": data.config,
        "config_items": sorted(data.config.items()),
        "environment": sorted(data.environment.items()),
        "times": {
            "created": when(data.meta["created_at"]),
            "started": when(data.meta["last_run_started"]),
            "finished": when(data.meta["last_run_finished"]),
        },
        "fingerprint": data.meta["fingerprint"],
        "protocol": data.meta["protocol"],
        "budget": data.config.get("budget", "epochs"),
        "counts": cells.status.value_counts().to_dict(),
        "total": len(cells),
        "metric": SUMMARY[metric].label,
        "ece_bins": ECE_BINS,
        "datasets": [_dataset_section(part, d, palette, metric) for d, part in data.by_dataset().items()],
        "across": _across(data, palette, metric),
        "unfinished": unfinished.to_dict("records"),
        "failed_searches": failed_searches.to_dict("records"),
    }


def _environment(autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=TEMPLATES,
        autoescape=autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["cell"] = markdown_cell
    return env


MARKDOWN, HTML = _environment(autoescape=False), _environment(autoescape=True)


def write_report(store: Store, directory: Path, metric: str | None = None, figure_format: str = "png") -> Path:
    """Regenerate results.csv, figures/, report.md and report.html; returns report.md's path.

    `metric` (default: the study's setting, else macro-F1) orders the summary and decides the verdicts and
    ranks; `figure_format` is that of the figure files (PDF adds files beside the PNGs the reports show).
    """
    directory = Path(directory)
    data = load(store)
    metric = metric or data.config.get("metric", "macro_f1")
    check_metric(metric)
    context = report_context(data, metric)
    write_atomically(directory / "results.csv", data.results.to_csv(index=False))
    all_figures = [f for d in context["datasets"] for f in d["figures"].values()]
    all_figures += [context["across"]["figure"]] if context["across"] and context["across"]["figure"] else []
    figures.draw_all(all_figures, figures.formats_drawn(figure_format), reuse=directory / "figures")
    figures.write_files(all_figures, directory)
    markdown = MARKDOWN.get_template("report.md.j2").render(**context)
    write_atomically(directory / "report.html", html_page(markdown, all_figures, str(context["config"]["name"])))
    report = directory / "report.md"
    write_atomically(report, markdown)
    return report


def html_page(markdown: str, embedded: list[figures.Figure], title: str) -> str:
    """The Markdown report as one self-contained HTML file.

    Rendering the same Markdown (markdown-it-py, which rich already depends on)
    keeps the two reports identical in content. Raw HTML in the Markdown is not
    passed through, and figures become data URIs, so the page loads nothing.
    """
    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(markdown)
    for figure in embedded:
        body = body.replace(f'src="{figure.file}"', f'src="{figure.data_uri()}"')
    return HTML.get_template("report.html.j2").render(title=title, body=Markup(body))
