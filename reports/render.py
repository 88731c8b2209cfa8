"""Assemble the report from the store: context once, then Markdown and HTML from templates.

`bench report DIR` calls this without training anything; it never imports a
Keras backend, and it renders partial studies (missing cells are listed).
"""

from __future__ import annotations

import base64
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

from bench.errors import UserError
from bench.specs import format_value, parse_spec
from bench.storage.files import slug, write_atomically
from bench.storage.store import Store
from reports import figures
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

METRICS = ("macro_f1", "macro_recall")
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


def _summary(results: pd.DataFrame, strategies: list[str]) -> tuple[list[dict[str, Any]], RankBlock]:
    """One row per strategy: ranked rows over the seeds all ranked strategies have, best first; then the
    strategies short of seeds, over their own seeds and unranked."""
    block = rank_block(results, strategies)
    rows = []
    for strategy in strategies:
        ranked = strategy in block.strategies
        scores = results[results.strategy == strategy]
        scores = scores[scores.seed.isin(block.seeds)] if ranked else scores
        seeds = str(len(scores)) if ranked else f"{len(scores)} of {len(block.seeds)}: not ranked"
        row: dict[str, Any] = {"strategy": strategy, "ranked": ranked, "seeds": seeds}
        for metric in METRICS:
            interval = mean_interval(scores[metric])
            row[metric] = interval.mean
            row[f"{metric}_text"] = fmt(interval.mean)
            row[f"{metric}_std"] = fmt(interval.std)
            row[f"{metric}_ci"] = f"[{fmt(interval.low)}, {fmt(interval.high)}]"
        rows.append(row)
    rows.sort(key=lambda r: (not r["ranked"], math.isnan(r["macro_f1"]), -r["macro_f1"]))
    for rank, row in enumerate(rows, start=1):
        row["rank"] = str(rank) if row["ranked"] else "–"
    return rows, block


def _comparisons(results: pd.DataFrame) -> list[dict[str, Any]]:
    if "baseline" not in set(results.strategy):
        return []
    frame = pd.concat([compare_to_baseline(results, metric) for metric in METRICS], ignore_index=True)
    return [
        {
            "strategy": r.strategy,
            "metric": r.metric.replace("_", "-"),
            "n": r.n,
            "difference": f"{r.mean_difference:+.3f}",
            "ci": f"[{fmt(r.ci_low)}, {fmt(r.ci_high)}]",
            "test": r.test,
            "p": fmt_p(r.p),
            "p_holm": fmt_p(r.p_holm),
            "verdict": r.verdict,
        }
        for r in frame.itertuples()
    ]


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
    counts = json.loads(first.class_counts)
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
    folds = [json.loads(c) for c in cells[cells.status == "done"].class_counts]
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
    done = [(int(c.seed), c.strategy, json.loads(c.class_counts)) for c in cells[cells.status == "done"].itertuples()]
    text = []
    for split, word in SPLITS.items():
        for i, name in enumerate(names):
            where = [(seed, strategy) for seed, strategy, counts in done if counts[split][i] == 0]
            if where:
                seeds = _seed_list(sorted({seed for seed, _ in where}))
                text.append(f"{name} from {word} ({seeds}; {', '.join(dict.fromkeys(s for _, s in where))})")
    return text


def _kept_epochs(cells: pd.DataFrame, strategies: list[str]) -> list[dict[str, str]]:
    """Per strategy whose weights switch on mid-training (deferred re-weighting): whether each final run's kept
    epoch had them on, so a reader sees that the scored models are the ones the strategy describes."""
    done = cells[cells.status == "done"]
    rows = []
    for strategy in strategies:
        runs = [json.loads(h) for h in done[done.strategy == strategy].history]
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
    steps = [h["optimiser_steps"] for h in map(json.loads, histories) if "optimiser_steps" in h]
    return float(np.mean(steps)) if steps else math.nan


def cost_table(data: StudyData, dataset: str, strategies: list[str]) -> pd.DataFrame:
    """Per strategy: wall time of tuning and final runs, the part inside fit/predict, and the harness overhead."""
    # A strategy has one search, or one per seed with per-seed tuning: their times add up.
    searches = data.searches[data.searches.dataset == dataset].groupby("strategy")[["seconds", "compute_seconds"]]
    searches = searches.sum(min_count=1)
    cells = data.cells[(data.cells.dataset == dataset) & (data.cells.status == "done")]
    epochs = data.histories[data.histories.dataset == dataset].groupby(["strategy", "seed"]).epoch.max()
    rows = []
    for strategy in strategies:
        mine = cells[cells.strategy == strategy]
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
                "epochs": float(epochs.loc[strategy].mean())
                if strategy in epochs.index.get_level_values(0)
                else math.nan,
                "samples_per_epoch": float(mine.samples_per_epoch.mean()) if len(mine) else math.nan,
                "steps": _mean_steps(mine.history),
                "trials": int((data.trials.dataset == dataset).mul(data.trials.strategy == strategy).sum()),
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


def _dataset_section(data: StudyData, dataset: str, palette: figures.Palette) -> dict[str, Any]:
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
    summary, block = _summary(results, done)
    matrices = {s: data.confusion[(dataset, s)] for s in done if (dataset, s) in data.confusion}

    figs: dict[str, figures.Figure] = {}

    def add(name: str, title: str, caption: str, draw: Any) -> None:
        figs[name] = figures.Figure(figure_name(dataset, name), title, caption, figures.render(draw))

    if not counts.empty:
        add(
            "classes",
            "Class counts",
            f"Samples per class as trained ({counts_source}).",
            lambda: figures.class_counts(counts),
        )
    if not results.empty:
        add(
            "scores",
            "Test scores per seed",
            "Each dot is one seed's test score; diamonds are means.",
            lambda: figures.scores(results, palette),
        )
        add(
            "per-class",
            "Per-class recall and F1",
            "Mean over seeds of each class's test recall and F1.",
            lambda: figures.heatmaps(data.per_class[data.per_class.dataset == dataset], done, names),
        )
        add(
            "confusion",
            "Confusion matrices",
            "Test predictions pooled over seeds, each row normalised to 1.",
            lambda: figures.confusions(matrices, names),
        )
    if not histories.empty:
        add(
            "curves",
            "Training curves",
            "Final runs: mean over seeds, band = ±1 standard deviation; with early stopping, later epochs "
            "average only the seeds still training.",
            lambda: figures.curves(histories, palette),
        )
    if not trials.empty:
        add(
            "trials",
            "Tuning trials",
            "Objective (validation macro-F1) of every keras-tuner trial.",
            lambda: figures.trials(trials, palette),
        )
    if cost[["tuning_s", "final_s"]].notna().any().any():
        add(
            "cost",
            "Cost",
            "Wall time of tuning and of all final runs; samples seen per training epoch.",
            lambda: figures.cost(cost.fillna(0), palette),
        )

    return {
        "name": dataset,
        "summary": summary,
        "ranked_on": _seed_list(block.seeds),
        "not_ranked": [f"{s} ({n} of {len(block.seeds)} seeds)" for s, n in block.short.items()],
        "comparisons": _comparisons(results),
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


def _across(data: StudyData, palette: figures.Palette) -> dict[str, Any] | None:
    if len(data.datasets) < 2:
        return None
    means, blocks = common_seed_means(data.results, "macro_f1")
    if means.shape[0] < 2 or means.shape[1] < 2:
        return None
    tasks = means.shape[0]
    across: dict[str, Any] = {
        "ranks": [{"strategy": s, "rank": fmt(r, 2)} for s, r in mean_ranks(means).items()],
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
        "Mean rank of macro-F1 across datasets (1 = best); strategies joined by a bar are not "
        "significantly different (Nemenyi, alpha 0.05).",
        figures.render(lambda: figures.critical_difference(means, palette)),
    )
    return across


def report_context(data: StudyData) -> dict[str, Any]:
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
        "datasets": [_dataset_section(data, d, palette) for d in data.datasets],
        "across": _across(data, palette),
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


def write_report(store: Store, directory: Path) -> Path:
    """Regenerate results.csv, figures/, report.md and report.html; returns report.md's path."""
    directory = Path(directory)
    data = load(store)
    context = report_context(data)
    write_atomically(directory / "results.csv", data.results.to_csv(index=False))
    all_figures = [f for d in context["datasets"] for f in d["figures"].values()]
    all_figures += [context["across"]["figure"]] if context["across"] and context["across"]["figure"] else []
    figures.write_pngs(all_figures, directory)
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
        body = body.replace(f'src="{figure.file}"', f'src="{data_uri(figure.png)}"')
    return HTML.get_template("report.html.j2").render(title=title, body=Markup(body))


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
