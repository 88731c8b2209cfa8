"""The report's model: typed sections built from the store's frames, which the templates read and nothing else.

A dataset section holds every table, note and figure the template shows for one
dataset; its figures come from one table of specs (DATASET_FIGURES), not from code
per figure, so adding one is a line there and a block in the template.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import pandas as pd

from bench.config import THIN_VALIDATION
from bench.metrics import ECE_BINS, SUMMARY
from bench.storage.files import slug
from bench.storage.rows import Status
from reports import class_tables, figures, score_tables, training_tables
from reports.findings import findings
from reports.formatting import fmt, fmt_p, seed_list, when
from reports.results import StudyData
from reports.score_tables import GROUP_COLUMNS, PROBABILITY, WORST_CLASS
from reports.stats import MIN_TASKS_FOR_FRIEDMAN, RankBlock, common_seed_means, friedman, mean_ranks


@dataclass(frozen=True)
class DatasetData:
    """One dataset's frames and the results its tables and figures share; figure specs name these attributes."""

    names: list[str]
    palette: figures.Palette
    results: pd.DataFrame
    cells: pd.DataFrame
    done: list[str]  # strategies with results, in the study's order
    summary: list[score_tables.SummaryRow]
    block: RankBlock
    compared: pd.DataFrame
    groups: pd.DataFrame
    counts: pd.DataFrame
    counts_source: str
    cost: pd.DataFrame
    per_class: pd.DataFrame
    matrices: dict[str, Any]
    bins: dict[str, Any]
    histories: pd.DataFrame
    trials: pd.DataFrame

    @cached_property
    def eces(self) -> dict[str, float]:
        return {row.strategy: row.intervals["ece"].mean for row in self.summary if "ece" in row.intervals}

    @cached_property
    def group_means(self) -> pd.DataFrame:
        return self.groups.groupby(["strategy", "group", "metric"], sort=False, as_index=False).value.mean()

    @cached_property
    def timed(self) -> bool:
        return bool(self.cost[["tuning_s", "final_s"]].notna().any().any())

    @cached_property
    def filled_cost(self) -> pd.DataFrame:
        return self.cost.fillna(0)


def dataset_data(data: StudyData, dataset: str, palette: figures.Palette, metric: str) -> DatasetData:
    """Select one dataset's frames from the study and compute what several tables and figures read."""
    results = data.results[data.results.dataset == dataset]
    cells = data.cells[data.cells.dataset == dataset]
    names = data.class_names[dataset]
    done = [s for s in data.strategies if s in set(results.strategy)]
    summary, block = score_tables.summary(results, done, metric)
    counts, counts_source = class_tables.class_counts(cells, names)
    return DatasetData(
        names=names,
        palette=palette,
        results=results,
        cells=cells,
        done=done,
        summary=summary,
        block=block,
        compared=score_tables.comparisons(results, metric),
        groups=score_tables.group_frame(results, done),
        counts=counts,
        counts_source=counts_source,
        cost=training_tables.cost_table(data, dataset, data.strategies),
        per_class=data.per_class[data.per_class.dataset == dataset],
        matrices={s: data.confusion[(dataset, s)] for s in done if (dataset, s) in data.confusion},
        bins={s: data.reliability[(dataset, s)] for s in done if (dataset, s) in data.reliability},
        histories=data.histories[data.histories.dataset == dataset],
        trials=data.trials[(data.trials.dataset == dataset) & data.trials.objective.notna()],
    )


@dataclass(frozen=True)
class FigureSpec:
    """A dataset figure: drawn when the DatasetData attribute `shown_when` is non-empty (or true), by `draw` on the
    attributes named in `arguments`; `caption` may name attributes as {inputs.NAME}."""

    name: str
    title: str
    caption: str
    draw: Callable[..., Any]
    shown_when: str
    arguments: tuple[str, ...]


DATASET_FIGURES = (
    FigureSpec(
        "classes",
        "Class counts",
        "Samples per class as trained ({inputs.counts_source}).",
        figures.class_counts,
        "counts",
        ("counts",),
    ),
    FigureSpec(
        "scores",
        "Test scores per seed",
        "Each dot is one seed's test score; diamonds are means.",
        figures.scores,
        "results",
        ("results", "palette"),
    ),
    FigureSpec(
        "per-class",
        "Per-class recall and F1",
        "Mean over seeds of each class's test recall and F1.",
        figures.heatmaps,
        "results",
        ("per_class", "done", "names"),
    ),
    FigureSpec(
        "confusion",
        "Confusion matrices",
        "Test predictions pooled over seeds, each row normalised to 1.",
        figures.confusions,
        "results",
        ("matrices", "names"),
    ),
    FigureSpec(
        "reliability",
        "Reliability",
        f"Test predictions pooled over seeds in {ECE_BINS} equal-width bins of the top-label confidence: "
        "accuracy against mean confidence per bin (dot area = share of samples). On the dashed diagonal a "
        "strategy is calibrated, below it overconfident, above it underconfident; resampling, re-weighting "
        "and loss changes move these points, so compare each panel with baseline's. ECE is the mean over seeds.",
        figures.reliability,
        "bins",
        ("bins", "eces", "palette"),
    ),
    FigureSpec(
        "groups",
        "Head, medium and tail classes",
        "Macro-F1 and macro-recall over the classes of each group (by training-pool count), mean over seeds.",
        figures.class_groups,
        "groups",
        ("group_means", "palette"),
    ),
    FigureSpec(
        "curves",
        "Training curves",
        "Final runs: mean over seeds, band = ±1 standard deviation; with early stopping, later epochs "
        "average only the seeds still training.",
        figures.curves,
        "histories",
        ("histories", "palette"),
    ),
    FigureSpec(
        "trials",
        "Tuning trials",
        "Objective (validation macro-F1) of every keras-tuner trial.",
        figures.trials,
        "trials",
        ("trials", "palette"),
    ),
    FigureSpec(
        "cost",
        "Cost",
        "Wall time of tuning and of all final runs; samples seen per training epoch.",
        figures.cost,
        "timed",
        ("filled_cost", "palette"),
    ),
)


def figure_name(dataset: str, figure: str) -> str:
    """The file name (without suffix) of a dataset's figure: the project's one slug, so two specs never share one."""
    return f"{slug(dataset)}-{figure}"


def _present(value: object) -> bool:
    return not value.empty if isinstance(value, pd.DataFrame) else bool(value)


def dataset_figures(dataset: str, inputs: DatasetData) -> dict[str, figures.Figure]:
    """The figures of DATASET_FIGURES that the dataset has data for, by name; write_report draws them."""
    return {
        spec.name: figures.Figure(
            figure_name(dataset, spec.name),
            spec.title,
            spec.caption.format(inputs=inputs),
            spec.draw,
            tuple(getattr(inputs, name) for name in spec.arguments),
        )
        for spec in DATASET_FIGURES
        if _present(getattr(inputs, spec.shown_when))
    }


@dataclass(frozen=True)
class DatasetSection:
    """Everything the template shows for one dataset, formatted."""

    name: str
    summary: list[score_tables.SummaryRow]
    ranked_on: str
    not_ranked: list[str]
    metric: str
    shown: list[str]
    comparisons: list[score_tables.ComparisonRow]
    probability: list[score_tables.ValuesRow]
    probability_labels: list[str]
    chance_pr_auc: str
    groups: list[score_tables.ValuesRow]
    group_labels: list[str]
    group_members: list[str]
    findings: str
    class_names: list[str]
    per_class: list[score_tables.ValuesRow]
    counts: list[class_tables.CountRow]
    counts_source: str
    imbalance: class_tables.Imbalance
    absent: list[str]
    thin: list[str]
    thin_rows: int
    kept_epochs: list[training_tables.KeptEpochs]
    hyperparameters: list[training_tables.HyperparameterRow]
    cost: list[training_tables.CostRow]
    overhead: str
    figures: dict[str, figures.Figure]


def dataset_section(data: StudyData, dataset: str, palette: figures.Palette, metric: str) -> DatasetSection:
    """One dataset's section of the report, ranked and judged by `metric`."""
    d = dataset_data(data, dataset, palette, metric)
    return DatasetSection(
        name=dataset,
        summary=d.summary,
        ranked_on=seed_list(d.block.seeds),
        not_ranked=[f"{s} ({n} of {len(d.block.seeds)} seeds)" for s, n in d.block.short.items()],
        metric=SUMMARY[metric].label,
        shown=[SUMMARY[m].label for m in score_tables.shown_metrics(metric)],
        comparisons=score_tables.comparison_rows(d.compared),
        probability=score_tables.mean_table(d.summary, PROBABILITY + WORST_CLASS),
        probability_labels=[SUMMARY[m].label for m in PROBABILITY + WORST_CLASS],
        chance_pr_auc=fmt(1 / len(d.names)),
        groups=score_tables.mean_table(d.summary, GROUP_COLUMNS) if not d.groups.empty else [],
        group_labels=[SUMMARY[m].label for m in GROUP_COLUMNS],
        group_members=class_tables.groups_text(d.cells, d.names),
        findings=findings(dataset, d.summary, d.compared, d.cost, metric),
        class_names=d.names,
        per_class=class_tables.per_class(data, dataset, d.done),
        counts=class_tables.count_rows(d.counts, d.names),
        counts_source=d.counts_source,
        imbalance=class_tables.imbalance(dataset, d.cells),
        absent=class_tables.absent_classes(d.cells, d.names),
        thin=class_tables.thin_validation(d.cells, d.names),
        thin_rows=THIN_VALIDATION,
        kept_epochs=training_tables.kept_epochs(d.cells, data.strategies),
        hyperparameters=training_tables.hyperparameters(data, dataset, data.strategies),
        cost=training_tables.cost_rows(d.cost),
        overhead=training_tables.overall_overhead(d.cost),
        figures=dataset_figures(dataset, d),
    )


@dataclass(frozen=True)
class MeanRank:
    strategy: str
    rank: str


@dataclass(frozen=True)
class AcrossDatasets:
    """The mean ranks over datasets, and the Friedman test and critical-difference diagram given enough datasets."""

    ranks: list[MeanRank]
    datasets: int
    left_out: list[str]
    friedman: str = ""
    figure: figures.Figure | None = None
    too_few: str = ""


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


def across(data: StudyData, palette: figures.Palette, metric: str) -> AcrossDatasets | None:
    """Ranks across datasets, or None with fewer than two datasets or strategies that every dataset has."""
    if len(data.datasets) < 2:
        return None
    higher = SUMMARY[metric].higher_is_better
    means, blocks = common_seed_means(data.results.dropna(subset=[metric]), metric)
    if means.shape[0] < 2 or means.shape[1] < 2:
        return None
    tasks = means.shape[0]
    ranks = [MeanRank(s, fmt(r, 2)) for s, r in mean_ranks(means, higher).items()]
    left_out = _left_out(data.results, blocks, list(means.columns))
    if tasks < MIN_TASKS_FOR_FRIEDMAN:
        too_few = (
            f"Friedman test and critical-difference diagram need at least {MIN_TASKS_FOR_FRIEDMAN} datasets; "
            f"this study has {tasks} with results for every ranked strategy."
        )
        return AcrossDatasets(ranks, tasks, left_out, too_few=too_few)
    statistic, p = friedman(means)
    test = (
        f"chi² = {fmt(statistic, 2)}, {fmt_p(p, clause=True)}"
        if not math.isnan(statistic)
        else "not computed (needs 3 or more strategies)"
    )
    figure = figures.Figure(
        "critical-difference",
        "Critical-difference diagram",
        f"Mean rank of {SUMMARY[metric].label} across datasets (1 = best); strategies joined by a bar are not "
        "significantly different (Nemenyi, alpha 0.05).",
        figures.critical_difference,
        (means, palette, higher),
    )
    return AcrossDatasets(ranks, tasks, left_out, test, figure)


@dataclass(frozen=True)
class ReportModel:
    """Everything the templates show; its figures are drawn by write_report."""

    config: dict[str, Any]
    config_items: list[tuple[str, Any]]
    environment: list[tuple[str, Any]]
    created: str  # when the study was created and last run, UTC
    started: str
    finished: str
    fingerprint: str
    protocol: Any
    budget: str
    counts: dict[str, int]
    total: int
    metric: str
    ece_bins: int
    datasets: list[DatasetSection]
    across: AcrossDatasets | None
    unfinished: list[dict[str, Any]]
    failed_searches: list[dict[str, Any]]

    @property
    def all_figures(self) -> list[figures.Figure]:
        """Every figure the report shows: the datasets' in order, then the critical-difference diagram."""
        shown = [f for d in self.datasets for f in d.figures.values()]
        return shown + ([self.across.figure] if self.across and self.across.figure else [])


def report_model(data: StudyData, metric: str) -> ReportModel:
    """The whole report's model, ranked and judged by `metric`."""
    palette = figures.strategy_palette(data.strategies)
    cells = data.cells
    unfinished = cells[cells.status != Status.DONE][["dataset", "strategy", "seed", "status", "error"]].fillna("")
    failed_searches = data.searches[data.searches.status == Status.FAILED][["dataset", "strategy", "error"]]
    return ReportModel(
        config=data.config,
        config_items=sorted(data.config.items()),
        environment=sorted(data.environment.items()),
        created=when(data.meta["created_at"]),
        started=when(data.meta["last_run_started"]),
        finished=when(data.meta["last_run_finished"]),
        fingerprint=data.meta["fingerprint"],
        protocol=data.meta["protocol"],
        budget=data.config.get("budget", "epochs"),
        counts=cells.status.value_counts().to_dict(),
        total=len(cells),
        metric=SUMMARY[metric].label,
        ece_bins=ECE_BINS,
        datasets=[dataset_section(part, d, palette, metric) for d, part in data.by_dataset().items()],
        across=across(data, palette, metric),
        unfinished=unfinished.to_dict("records"),
        failed_searches=failed_searches.to_dict("records"),
    )
