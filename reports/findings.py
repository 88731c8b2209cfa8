"""A paragraph per dataset that a reader can paste: generated from the paired tests, saying only what they support.

A strategy is said to beat (or fall behind) baseline only where the Holm-corrected
paired test says so at alpha 0.05; a change in calibration or in the worst class is
reported the same way, and otherwise said to be undetected, never guessed from means.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from bench.metrics import SUMMARY
from reports.formatting import fmt_p
from reports.score_tables import SummaryRow
from reports.stats import ALPHA

SIDE_EFFECTS = ("ece", "worst_class_recall")  # what a gain may cost: calibration, the worst class


def _difference(row: Any) -> str:
    """'+0.052 (95% CI [0.021, 0.083]; Wilcoxon signed-rank, Holm p = 0.031)'."""
    interval = "" if math.isnan(row.ci_low) else f"95% CI [{row.ci_low:.3f}, {row.ci_high:.3f}]; "
    return f"{row.mean_difference:+.3f} ({interval}{row.test}, Holm {fmt_p(row.p_holm, clause=True)})"


def _side_effects(strategy: str, compared: pd.DataFrame) -> str:
    """What the strategy did to calibration and to the worst class, as far as the tests tell."""
    parts = []
    for metric in SIDE_EFFECTS:
        row = compared[(compared.strategy == strategy) & (compared.metric == metric)]
        if not row.empty:
            r = next(row.itertuples())
            label = SUMMARY[metric].label
            if r.verdict == "no detectable difference":
                parts.append(f"no detectable change in {label}")
            else:
                parts.append(f"{label} {_difference(r)}, {r.verdict}")
    return "; ".join(parts)


def _cost(strategy: str, cost: pd.DataFrame) -> str:
    """Tuning and final training time relative to baseline's, when both were timed."""
    total = (cost.set_index("strategy")[["tuning_s", "final_s"]]).sum(axis=1, min_count=1)
    mine, base = total.get(strategy, math.nan), total.get("baseline", math.nan)
    if math.isnan(mine) or math.isnan(base) or base <= 0:
        return ""
    return f", at {mine / base:.1f}x baseline's training time (tuning and final runs)"


def findings(dataset: str, summary: list[SummaryRow], compared: pd.DataFrame, cost: pd.DataFrame, metric: str) -> str:
    """The dataset's findings on `metric`: who beats baseline, by how much, at what cost and side effects."""
    label = SUMMARY[metric].label
    ranked = [r for r in summary if r.ranked]
    if not ranked:
        return f"No strategy has finished on {dataset} yet."
    if compared.empty or metric not in set(compared.metric):
        best = ranked[0]
        interval = best.intervals[metric]
        return (
            f"On {dataset} the highest mean {label} is {best.strategy}'s, {interval.mean:.3f} "
            f"(95% CI [{interval.low:.3f}, {interval.high:.3f}]); without baseline in the study no strategy is "
            "tested against it."
        )
    mine = compared[compared.metric == metric]
    better = mine[mine.verdict == "better"].sort_values(
        "mean_difference", ascending=not SUMMARY[metric].higher_is_better
    )
    worse = mine[mine.verdict == "worse"]
    same = mine[mine.verdict == "no detectable difference"]
    seeds = int(mine.n.max()) if len(mine) else 0
    sentences = [
        f"On {dataset}, {len(better)} of {len(mine)} strategies beat baseline on {label} "
        f"(paired over up to {seeds} seeds, Holm-corrected, alpha {ALPHA})."
    ]
    for row in better.itertuples():
        sentence = f"{row.strategy}: {label} {_difference(row)}{_cost(row.strategy, cost)}"
        if effects := _side_effects(row.strategy, compared):
            sentence += f"; {effects}"
        sentences.append(sentence + ".")
    if len(worse):
        sentences.append(
            "Worse than baseline: " + "; ".join(f"{r.strategy} by {_difference(r)}" for r in worse.itertuples()) + "."
        )
    if len(same):
        sentences.append(f"No detectable difference from baseline: {', '.join(same.strategy)}.")
    return " ".join(sentences)
