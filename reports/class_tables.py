"""The report's class tables of one dataset: class counts and imbalance, head/medium/tail groups, per-class
scores, and the classes a split lacks or validates on too few rows."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bench.errors import UserError
from bench.metrics import GROUPS, class_groups
from bench.specs import format_value, parse_spec
from bench.storage.rows import Status
from reports import class_coverage
from reports.formatting import fmt, seed_list, spread
from reports.results import StudyData
from reports.score_tables import ValuesRow

SPLITS = {"train": "training", "val": "validation", "test": "test"}


def counted(cells: pd.DataFrame) -> pd.DataFrame:
    """The finished cells that recorded their class counts (a store migrated from an early schema may hold
    finished cells without them), as `bench status` reads them too."""
    return cells[(cells.status == Status.DONE) & cells.class_counts.notna()]


def groups_text(cells: pd.DataFrame, names: list[str]) -> list[str]:
    """Which classes form the head, medium and tail, from the training-pool counts of the finished cells."""
    pools = {tuple(np.add(c["train"], c["val"])) for c in counted(cells).class_counts}
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


def per_class(data: StudyData, dataset: str, strategies: list[str]) -> list[ValuesRow]:
    """Per strategy, its recall row and its F1 row: each class's mean over seeds."""
    frame = data.per_class[data.per_class.dataset == dataset]
    means = frame.groupby(["strategy", "metric", "class_index"])["value"].mean()
    names = data.class_names[dataset]
    rows = []
    for strategy in strategies:
        for metric in ("recall", "f1"):
            values = [means.get((strategy, metric, i), math.nan) for i in range(len(names))]
            rows.append(ValuesRow(strategy, [fmt(v, 2) for v in values], metric))
    return rows


def class_counts(cells: pd.DataFrame, names: list[str]) -> tuple[pd.DataFrame, str]:
    """Counts of the first finished cell (its seed and split), for the table and the figure."""
    done = counted(cells)
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


@dataclass(frozen=True)
class CountRow:
    """One class's samples per split."""

    name: str
    train: int
    val: int
    test: int


def count_rows(counts: pd.DataFrame, names: list[str]) -> list[CountRow]:
    """The class counts table, in the dataset's class order."""
    if counts.empty:
        return []
    wide = counts.pivot(index="class", columns="split", values="count").loc[names].reset_index()
    return [CountRow(r["class"], r["train"], r["val"], r["test"]) for r in wide.to_dict("records")]


def _ratio(counts: list[int]) -> float:
    present = [n for n in counts if n > 0]
    return max(present) / min(present) if present else math.nan


@dataclass(frozen=True)
class Imbalance:
    """Achieved imbalance ratios over the finished cells (formatted), their number, and the requested ratio."""

    train: str
    pool: str
    cells: str
    requested: str


def imbalance(dataset: str, cells: pd.DataFrame) -> Imbalance:
    """Achieved imbalance ratios (largest / smallest class count) of every finished cell's training fold and
    training pool (train + validation), and the ratio the dataset spec requested, if it names one.

    The achieved ratio is what the models met; rounding, the minimum class size and the validation cut
    make it differ from the requested one (digits-lt[ratio=100]: n_max 144 and floor 2 give a pool of 72).
    """
    folds = list(counted(cells).class_counts)
    try:
        requested = parse_spec(dataset).kwargs.get("ratio")
    except UserError:  # a name that is not a spec requests nothing
        requested = None
    return Imbalance(
        train=spread([_ratio(f["train"]) for f in folds]) if folds else "n/a",
        pool=spread([_ratio(np.add(f["train"], f["val"]).tolist()) for f in folds]) if folds else "n/a",
        cells=str(len(folds)),
        requested="" if requested is None else format_value(requested),
    )


def _finished(cells: pd.DataFrame) -> list[tuple[str, tuple[int, str], dict[str, list[int]]]]:
    return [(c.dataset, (int(c.seed), c.strategy), c.class_counts) for c in counted(cells).itertuples()]


def absent_classes(cells: pd.DataFrame, names: list[str]) -> list[str]:
    """Each class with no sample in a split of some finished cell, with the seeds and strategies where it is
    absent, so the report names it rather than average it silently."""
    text = []
    for (_, split, i), where in class_coverage.absent_classes(_finished(cells), tuple(SPLITS)).items():
        seeds = seed_list(sorted({seed for seed, _ in where}))
        text.append(f"{names[i]} from {SPLITS[split]} ({seeds}; {', '.join(dict.fromkeys(s for _, s in where))})")
    return text


def thin_validation(cells: pd.DataFrame, names: list[str]) -> list[str]:
    """Each class with 1 to THIN_VALIDATION - 1 validation rows in some finished cell, with those seeds and the
    fewest rows a strategy's cut gave it there."""
    cut = [(dataset, seed, counts) for dataset, (seed, _), counts in _finished(cells)]
    found = sorted(class_coverage.thin_validation(cut).items(), key=lambda entry: entry[0][1])  # in class order
    return [f"{names[i]} (seed {', '.join(f'{s}: {n}' for s, n in sorted(rows.items()))})" for (_, i), rows in found]
