"""How much the hyperparameter search alone moves a study's verdicts: replicates that differ only in their searches.

Run the same study with several `--search-seed` values (same data, splits and initialisations), then

    python benchmarks/search_noise.py runs/a runs/b runs/c

It reads each replicate's `results.csv`, compares every strategy with baseline on every metric column as the
report does (paired over seeds, Holm per metric, each metric's direction), and prints the share of
(strategy, metric) verdicts that agree in all replicates and how far each strategy's mean difference to
baseline moves between replicates. benchmarks/README.md keeps the figures.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import pandas as pd

from bench.metrics import SUMMARY
from reports.stats import compare_to_baseline

KEYS = ("dataset", "strategy", "seed")


def verdicts(directory: Path) -> pd.DataFrame:
    """Every (dataset, strategy, metric) comparison with baseline in one replicate."""
    results = pd.read_csv(directory / "results.csv")
    metrics = [column for column in results.columns if column not in KEYS]
    frames = [
        compare_to_baseline(results, m, higher_is_better=SUMMARY[m].higher_is_better if m in SUMMARY else True)
        for m in metrics
    ]
    return pd.concat(frames, ignore_index=True).set_index(["dataset", "strategy", "metric"])


def agreement(replicates: list[pd.DataFrame]) -> dict[str, float]:
    """Share of verdicts equal in every replicate; mean |change| of macro-F1's difference to baseline between pairs."""
    verdict = pd.concat([r.verdict for r in replicates], axis=1, keys=range(len(replicates)))
    found = {"verdicts agreeing in all replicates": float((verdict.nunique(axis=1) == 1).mean())}
    for metric in ("macro_f1", "macro_recall"):
        differences = pd.concat(
            [r.mean_difference.xs(metric, level="metric") for r in replicates], axis=1, keys=range(len(replicates))
        )
        pairs = itertools.combinations(differences.columns, 2)
        moved = pd.concat([(differences[a] - differences[b]).abs() for a, b in pairs], axis=1).mean(axis=1)
        found[f"mean |change| of the {metric} difference"] = float(moved.mean())
        found.update({f"  {strategy}": float(value) for (_, strategy), value in moved.items()})
    return found


def main(directories: list[str]) -> None:
    replicates = [verdicts(Path(d)) for d in directories]
    for i, r in enumerate(replicates):
        f1 = r.xs("macro_f1", level="metric")
        print(
            directories[i], "; ".join(f"{s}: {row.mean_difference:+.3f} {row.verdict}" for (_, s), row in f1.iterrows())
        )
    for key, value in agreement(replicates).items():
        print(f"{key}: {value:.3f}")


if __name__ == "__main__":
    main(sys.argv[1:])
