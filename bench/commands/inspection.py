"""`bench inspect SPEC`: the first cell of the source notebook as a command.

Before choosing strategies a practitioner wants to see the imbalance: classes
with counts and shares, largest first, the imbalance ratio, and a histogram.
Where a study would not train on the data as loaded (a balanced test hold-out,
a long-tail profile), the first seed's training pool is shown beside it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from bench.data.dataset import Dataset
from bench.data.sources import load
from bench.data.splits import holdout
from bench.errors import UserError
from bench.specs import parse_spec
from bench.storage.files import slug, write_atomically

ALL, POOL = "all data", "training pool, seed 1"


def class_table(dataset: Dataset, seed: int = 1) -> pd.DataFrame:
    """Counts per class (largest first); the training pool too where the study reshapes the data."""
    table = pd.DataFrame({"class": dataset.class_names, ALL: np.bincount(dataset.y, minlength=dataset.num_classes)})
    if dataset.long_tail is not None or dataset.test_per_class is not None or dataset.test_rows is not None:
        _, pool = holdout(dataset, seed)
        table[POOL] = np.bincount(dataset.y[pool], minlength=dataset.num_classes)
    return table.sort_values(table.columns[-1], ascending=False, kind="stable").reset_index(drop=True)


def imbalance_ratio(counts: pd.Series) -> float:
    return float(counts.max() / counts.min())


def inspect_text(name: str, dataset: Dataset, table: pd.DataFrame) -> str:
    lines = [f"{name}: {len(dataset.y)} samples, input shape {dataset.input_shape}, {dataset.num_classes} classes"]
    columns = [c for c in (ALL, POOL) if c in table]
    width = max(len("class"), *(len(c) for c in dataset.class_names))
    lines.append(f"  {'class':<{width}}" + "".join(f"  {c:>24}" for c in columns))
    for row in table.itertuples(index=False):
        values = dict(zip(table.columns, row, strict=True))
        cells = "".join(f"  {values[c]:>15} ({values[c] / table[c].sum():6.1%})" for c in columns)
        lines.append(f"  {values['class']:<{width}}" + cells)
    for column in columns:
        lines.append(f"imbalance ratio, {column} (largest / smallest class): {imbalance_ratio(table[column]):.1f}")
    return "\n".join(lines)


def write_histogram(table: pd.DataFrame, path: Path) -> None:
    """The class histogram as a PNG (reports' own class-count figure, so both look alike)."""
    from reports import figures

    long = table.melt(id_vars="class", var_name="split", value_name="count")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, figures.render(lambda: figures.class_counts(long))["png"])


def command(args: argparse.Namespace) -> int:

    name, dataset = load(parse_spec(args.dataset), args.target)
    table = class_table(dataset)
    output = args.output or Path("runs") / "inspect" / f"{slug(name)}.png"
    print(inspect_text(name, dataset, table))
    try:
        write_histogram(table, output)
    except OSError as exc:
        raise UserError(f"cannot write {output}: {exc.strerror}") from None
    print(f"histogram: {output}")
    return 0
