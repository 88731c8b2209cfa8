"""`bench export`: results or raw test predictions as CSV, straight from the store."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from bench.config import check_metric
from bench.errors import UserError
from bench.storage.files import write_atomically
from bench.storage.store import Store


def predictions_frame(store: Store) -> pd.DataFrame:
    """One row per test sample per cell, with labels as class names and one probability column per class."""
    names = store.class_names()
    frames = []
    for row, arrays in store.predictions():
        classes = names[row["dataset"]]
        frame = pd.DataFrame(
            {
                "dataset": row["dataset"],
                "strategy": row["strategy"],
                "seed": row["seed"],
                "sample_id": arrays["sample_id"],
                "true_label": [classes[i] for i in arrays["y_true"]],
                "predicted_label": [classes[i] for i in arrays["y_pred"]],
            }
        )
        proba = pd.DataFrame(arrays["proba"], columns=[f"proba_{c}" for c in classes])
        frames.append(pd.concat([frame, proba], axis=1))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


TABLE = r"\begin{table}"  # one per dataset in a LaTeX export


def export(directory: Path, what: str, output: Path, metric: str | None = None) -> str:
    """Write results or predictions as CSV, or the summary as LaTeX tables, atomically; says what was written."""
    from reports.latex import latex_tables
    from reports.results import load

    with Store.open_existing(directory) as store:
        if what == "latex":
            data = load(store)
            metric = metric or data.config.get("metric", "macro_f1")
            check_metric(metric)
            text = latex_tables(data, metric)
            written = f"{text.count(TABLE)} tables"
        else:
            frame = load(store).results if what == "results" else predictions_frame(store)
            text, written = frame.to_csv(index=False), f"{len(frame)} rows"
    try:
        write_atomically(output, text)
    except OSError as exc:
        raise UserError(f"cannot write {output}: {exc.strerror}") from None
    return written


def command(args: argparse.Namespace) -> int:
    output = args.output or args.directory / ("summary.tex" if args.what == "latex" else f"{args.what}.csv")
    print(f"{export(args.directory, args.what, output, args.metric)} written to {output}")
    return 0
