"""The text of `bench status DIR`: counts by status, every unfinished cell, then every class a fold lacks."""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from bench.config import THIN_VALIDATION
from bench.storage.rows import CellRow, Status
from bench.storage.store import Store
from reports import class_coverage as coverage

# split key in class_counts -> (its name in a sentence, what scores on it do with a class it lacks)
_FOLDS = {"val": ("validation", "scores on validation count it as 0"), "test": ("test", "test scores count it as 0")}


def status_text(directory: Path) -> str:
    with Store.open_existing(directory) as store:
        cells = store.cells()
        failed_searches = [row for row in store.searches() if row.status is Status.FAILED]
        class_names = store.class_names()
    counts = Counter(row.status for row in cells)
    order = (Status.DONE, Status.RUNNING, Status.PENDING, Status.FAILED, Status.SKIPPED)
    lines = [f"{directory}: {len(cells)} cells: " + ", ".join(f"{counts.get(s, 0)} {s}" for s in order)]
    for row in cells:
        if row.status is not Status.DONE:
            error = f": {row.error}" if row.error else ""
            lines.append(f"  {row.status:<8} {row.dataset} / {row.strategy} / seed {row.seed}{error}")
    for search in failed_searches:
        lines.append(f"  tuning failed for {search.dataset} / {search.strategy}: {search.error}")
    return "\n".join(lines + absent_classes(cells, class_names) + thin_validation_classes(cells, class_names))


def _finished(cells: list[CellRow]) -> list[tuple[str, int, dict[str, list[int]]]]:
    """(dataset, seed, class counts) of each finished cell that recorded its counts, in the cells' order."""
    return [
        (row.dataset, row.seed, json.loads(row.class_counts))
        for row in cells
        if row.status is Status.DONE and row.class_counts
    ]


def _class_name(class_names: dict[str, list[str]], dataset: str, label: int) -> str:
    names = class_names.get(dataset, [])
    return names[label] if label < len(names) else str(label)


def absent_classes(cells: list[CellRow], class_names: dict[str, list[str]]) -> list[str]:
    """One line per (dataset, fold, class) that some finished seed's validation or test fold lacks.

    Scores are over every class, so a class a fold lacks scores 0 there; naming
    it (and the seeds) keeps that from passing for a model that failed on it.
    Lines follow the cells' order of datasets, validation before test, then classes.
    """
    lines = []
    for (dataset, fold, label), found in coverage.absent_classes(_finished(cells), tuple(_FOLDS)).items():
        where, effect = _FOLDS[fold]
        lines.append(
            f"  {dataset}: class '{_class_name(class_names, dataset, label)}' has no {where} samples in "
            f"seed{'s' if len(found) > 1 else ''} {', '.join(map(str, sorted(found)))} ({effect})"
        )
    return lines


def thin_validation_classes(cells: list[CellRow], class_names: dict[str, list[str]]) -> list[str]:
    """One line per (dataset, class) with 1 to THIN_VALIDATION - 1 validation rows in some finished seed."""
    lines = []
    for (dataset, label), found in coverage.thin_validation(_finished(cells)).items():
        where = ", ".join(f"{seed} ({n})" for seed, n in sorted(found.items()))
        lines.append(
            f"  {dataset}: class '{_class_name(class_names, dataset, label)}' has fewer than {THIN_VALIDATION} "
            f"validation samples in seed{'s' if len(found) > 1 else ''} {where}: "
            'tuning and early stopping judge it on single rows (tuning = "cv[k=3]" averages over folds)'
        )
    return lines


def command(args: argparse.Namespace) -> int:

    print(status_text(args.directory))
    return 0
