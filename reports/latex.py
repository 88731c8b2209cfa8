"""The summary as booktabs tables for a paper: one table per dataset, ready for `\\input`.

Each cell is the mean over the seeds every ranked strategy has, with its Student-t
95% confidence interval; the best value of a column is bold, and a dagger marks a
strategy that the paired test over seeds (Holm-corrected against every other
strategy, alpha 0.05) does not tell apart from the best. Needs `\\usepackage{booktabs}`.
"""

from __future__ import annotations

import math

import pandas as pd

from bench.metrics import SUMMARY
from reports.results import StudyData
from reports.stats import ALPHA, compare_to_baseline, mean_interval, rank_block

COLUMNS = ("macro_f1", "macro_recall", "macro_pr_auc", "ece", "worst_class_recall")
_SPECIAL = {c: "\\" + c for c in "&%$#_{}"} | {"~": r"\textasciitilde{}", "^": r"\^{}", "\\": r"\textbackslash{}"}


def escape(text: str) -> str:
    """Text safe in LaTeX (strategy and dataset names hold brackets, underscores, +)."""
    return "".join(_SPECIAL.get(c, c) for c in text)


def columns_for(metric: str) -> list[str]:
    return list(dict.fromkeys((metric, *COLUMNS)))


def not_distinguished(results: pd.DataFrame, metric: str, best: str) -> set[str]:
    """Strategies whose paired difference to the best one is not significant (Holm over the others)."""
    higher = SUMMARY[metric].higher_is_better
    compared = compare_to_baseline(results, metric, baseline=best, higher_is_better=higher)
    return set(compared[compared.verdict == "no detectable difference"].strategy)


def dataset_table(results: pd.DataFrame, dataset: str, metric: str) -> str:
    """One dataset's booktabs table, rows best first by `metric` (empty if no strategy has that metric)."""
    block = rank_block(results.dropna(subset=[metric]))
    if not block.strategies:  # the metric is undefined on every cell (a class group this data lacks)
        return ""
    ranked = block.select(results)
    columns = columns_for(metric)
    intervals = {
        (s, m): mean_interval(ranked[ranked.strategy == s][m].dropna()) for s in block.strategies for m in columns
    }
    sign = {m: 1 if SUMMARY[m].higher_is_better else -1 for m in columns}

    def key(strategy: str, m: str) -> float:
        value = intervals[strategy, m].mean
        return -math.inf if math.isnan(value) else sign[m] * value

    order = sorted(block.strategies, key=lambda s: -key(s, metric))
    best = {m: max(block.strategies, key=lambda s: key(s, m)) for m in columns}
    close = {m: not_distinguished(ranked, m, best[m]) for m in columns}
    header = " & ".join(
        ["Strategy"]
        + [escape(SUMMARY[m].label) + ("" if SUMMARY[m].higher_is_better else r" $\downarrow$") for m in columns]
    )
    lines = [
        r"\begin{table}[t]",
        r"\centering",
        r"\small",
        rf"\caption{{{escape(dataset)}: test scores, mean and 95\% CI over {len(block.seeds)} seeds.}}",
        r"\begin{tabular}{l" + "c" * len(columns) + "}",
        r"\toprule",
        header + r" \\",
        r"\midrule",
    ]
    for strategy in order:
        cells = [escape(strategy)]
        for m in columns:
            interval = intervals[strategy, m]
            if math.isnan(interval.mean):
                cells.append("--")
                continue
            text = f"{interval.mean:.3f}"
            text = rf"\textbf{{{text}}}" if strategy == best[m] else text
            text += r"\textsuperscript{\dag}" if strategy in close[m] else ""
            if not math.isnan(interval.low):
                text += f" [{interval.low:.3f}, {interval.high:.3f}]"
            cells.append(text)
        lines.append(" & ".join(cells) + r" \\")
    lines += [
        r"\bottomrule",
        r"\end{tabular}",
        rf"\par\smallskip\footnotesize Bold: best in its column; \dag: not significantly different from it (paired "
        rf"over seeds, Holm-corrected, $\alpha = {ALPHA}$); $\downarrow$: lower is better.",
        r"\end{table}",
    ]
    return "\n".join(lines) + "\n"


def latex_tables(data: StudyData, metric: str) -> str:
    """Every dataset's table, in study order; datasets without results for `metric` are left out."""
    header = "% imbalance-bench summary tables; needs \\usepackage{booktabs}\n"
    tables = [dataset_table(data.results[data.results.dataset == d], d, metric) for d in data.datasets]
    return header + "\n".join(table for table in tables if table)
