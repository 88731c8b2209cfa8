"""`bench export`: results or raw test predictions as CSV, straight from the store."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from bench.errors import UserError
from bench.storage.files import replacing
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


def export(directory: Path, what: str, output: Path) -> int:
    """Write the CSV atomically; returns the number of rows."""
    from reports.results import load

    store = Store.open_existing(directory)
    try:
        frame = load(store).results if what == "results" else predictions_frame(store)
    finally:
        store.close()
    try:
        with replacing(output) as handle:
            frame.to_csv(handle, index=False)
    except OSError as exc:
        raise UserError(f"cannot write {output}: {exc.strerror}") from None
    return len(frame)


def command(args: argparse.Namespace) -> int:

    output = args.output or args.directory / f"{args.what}.csv"
    rows = export(args.directory, args.what, output)
    print(f"{rows} rows written to {output}")
    return 0
