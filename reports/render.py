"""Write report.md and results.csv from the store (re-runnable at any time)."""

from __future__ import annotations

import math
from pathlib import Path

import jinja2
import pandas as pd

from bench.store import Store
from reports.results import best_hyperparameters, cells_frame, results_frame, summary_frame

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("reports", "templates"),
    autoescape=False,  # Markdown; table cells go through the `cell` filter instead
    trim_blocks=True,
    lstrip_blocks=True,
    undefined=jinja2.StrictUndefined,
)


def markdown_cell(value: object) -> str:
    """Text safe inside a Markdown table cell: no pipes or line breaks, HTML escaped."""
    text = str(value).replace("\n", " ").replace("|", "\\|")
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mean_std(mean: float, std: float) -> str:
    if math.isnan(mean):
        return "n/a"
    return f"{mean:.3f}" if math.isnan(std) else f"{mean:.3f} ± {std:.3f}"


def format_hyperparameters(values: dict[str, object]) -> str:
    def short(v: object) -> str:
        return f"{v:.3g}" if isinstance(v, float) else str(v)

    return ", ".join(f"{k}={short(v)}" for k, v in sorted(values.items()))


_ENV.filters["cell"] = markdown_cell


def _atomic_write(path: Path, text: str) -> None:
    """Write next to the target and rename, so a report is never half-written."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


def report_context(store: Store) -> dict[str, object]:
    results = results_frame(store)
    summary = summary_frame(results)
    best = best_hyperparameters(store)
    cells = cells_frame(store)
    config = store.config
    tables = []
    for dataset in dict.fromkeys(cells["dataset"]):
        rows = []
        for strategy in dict.fromkeys(cells.loc[cells.dataset == dataset, "strategy"]):
            match = summary[(summary.dataset == dataset) & (summary.strategy == strategy)]
            stats = match.iloc[0] if len(match) else None
            rows.append(
                {
                    "strategy": strategy,
                    "macro_f1": mean_std(stats.macro_f1_mean, stats.macro_f1_std) if stats is not None else "n/a",
                    "macro_recall": (
                        mean_std(stats.macro_recall_mean, stats.macro_recall_std) if stats is not None else "n/a"
                    ),
                    "seeds": int(stats.macro_f1_count) if stats is not None else 0,
                    "hyperparameters": format_hyperparameters(best.get((dataset, strategy), {})) or "not tuned",
                }
            )
        tables.append({"dataset": dataset, "rows": rows})
    unfinished = cells[cells.status != "done"]
    return {
        "config": config,
        "tables": tables,
        "counts": cells.status.value_counts().to_dict(),
        "total": len(cells),
        "unfinished": unfinished.to_dict("records"),
    }


def write_report(store: Store, directory: Path) -> Path:
    """Regenerate results.csv and report.md; returns the report's path."""
    directory = Path(directory)
    results: pd.DataFrame = results_frame(store)
    _atomic_write(directory / "results.csv", results.to_csv(index=False))
    report = directory / "report.md"
    _atomic_write(report, _ENV.get_template("report.md.j2").render(**report_context(store)))
    return report
