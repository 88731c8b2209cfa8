"""How sure are we: intervals over seeds, paired tests against baseline, ranks across datasets.

Like is compared with like: paired tests match on seed, and ranks use only the
seeds every ranked strategy has, so no strategy is ranked on an easier subset.

Everything is computed from the tidy results frame with scipy.stats; only Holm's
step-down correction is written here, because scipy offers only
Benjamini-Hochberg and statsmodels would be a large dependency for five lines.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

ALPHA = 0.05
# With n non-zero paired differences the smallest two-sided exact Wilcoxon p-value is
# 2 / 2**n, which first drops below 0.05 at n = 6; with fewer only the paired t-test can.
MIN_SEEDS_FOR_WILCOXON = 6
# With 2 tasks (datasets) the Nemenyi critical difference exceeds k - 1, the largest
# possible gap between mean ranks, so the diagram could never separate two strategies.
MIN_TASKS_FOR_FRIEDMAN = 3


@dataclass(frozen=True)
class Interval:
    mean: float
    std: float
    low: float
    high: float
    n: int


def mean_interval(values: np.ndarray | pd.Series, confidence: float = 0.95) -> Interval:
    """Mean, sample std and Student-t confidence interval of the mean over seeds."""
    values = np.asarray(values, dtype=float)
    n = len(values)
    mean = float(values.mean()) if n else math.nan
    if n < 2:
        return Interval(mean, math.nan, math.nan, math.nan, n)
    std = float(values.std(ddof=1))
    if std == 0:
        return Interval(mean, 0.0, mean, mean, n)
    low, high = _standard_t_interval(confidence, n - 1)
    scale = std / math.sqrt(n)
    return Interval(mean, std, low * scale + mean, high * scale + mean, n)


@functools.cache
def _standard_t_interval(confidence: float, df: int) -> tuple[float, float]:
    """scipy's t.interval at loc 0, scale 1, which it shifts and scales as above: computed once per df, since a
    large report asks for thousands of intervals over the same few seed counts."""
    low, high = stats.t.interval(confidence, df)
    return float(low), float(high)


def paired_test(differences: np.ndarray) -> tuple[str, float]:
    """(test name, two-sided p) for paired differences over seeds.

    Wilcoxon from MIN_SEEDS_FOR_WILCOXON non-zero differences up, else the paired t-test on all of them:
    scipy's Wilcoxon (zero_method="wilcox") drops zero differences, and the exact test's smallest p is
    2 / 2**n_nonzero, so counting ties would pick a test that cannot reach 0.05.
    """
    differences = np.asarray(differences, dtype=float)
    if len(differences) < 2:
        return "none (fewer than 2 seeds)", math.nan
    if np.allclose(differences, 0):
        return "none (identical scores)", 1.0
    if np.count_nonzero(differences) >= MIN_SEEDS_FOR_WILCOXON:
        return "Wilcoxon signed-rank", float(stats.wilcoxon(differences).pvalue)
    if np.allclose(differences, differences[0]):
        return "paired t", 0.0  # constant non-zero difference: the t statistic is infinite
    return "paired t", float(stats.ttest_1samp(differences, 0.0).pvalue)


def probability_of_outperforming(
    differences: np.ndarray, higher_is_better: bool = True, confidence: float = 0.95
) -> tuple[float, float, float]:
    """P(the strategy beats the reference on a paired seed), ties counting half, with a Wilson score interval.

    Bouthillier et al. (2021) recommend it beside mean differences: how often a
    new seed would favour the strategy, not by how much. The Wilson interval is
    written out because scipy's binomtest takes whole successes, and a tie counts half.
    """
    signed = np.asarray(differences, dtype=float) * (1 if higher_is_better else -1)
    n = len(signed)
    if n == 0:
        return math.nan, math.nan, math.nan
    share = (np.count_nonzero(signed > 0) + 0.5 * np.count_nonzero(signed == 0)) / n
    z2 = float(stats.norm.ppf(0.5 + confidence / 2)) ** 2
    centre = (share + z2 / (2 * n)) / (1 + z2 / n)
    half = math.sqrt(z2 * share * (1 - share) / n + z2 * z2 / (4 * n * n)) / (1 + z2 / n)
    return float(share), max(0.0, centre - half), min(1.0, centre + half)


def holm(pvalues: list[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (NaN entries are kept out of the family)."""
    indexed = sorted((p, i) for i, p in enumerate(pvalues) if not math.isnan(p))
    adjusted = [math.nan] * len(pvalues)
    running = 0.0
    for rank, (p, i) in enumerate(indexed):
        running = max(running, min(1.0, (len(indexed) - rank) * p))
        adjusted[i] = running
    return adjusted


def verdict(mean_difference: float, adjusted_p: float, alpha: float = ALPHA, higher_is_better: bool = True) -> str:
    if math.isnan(adjusted_p) or adjusted_p >= alpha:
        return "no detectable difference"
    return "better" if (mean_difference > 0) == higher_is_better else "worse"


def paired(scores: pd.Series, reference: pd.Series, higher_is_better: bool = True) -> dict[str, float | int | str]:
    """Paired differences scores - reference over the seeds (the index) both have: n, mean, 95% CI, test, p,
    and the probability that the scores beat the reference on a seed (with its 95% interval)."""
    differences = (scores - reference).dropna().to_numpy()  # aligned on seed: NaN where either lacks one
    test, p = paired_test(differences)
    interval = mean_interval(differences)
    better, better_low, better_high = probability_of_outperforming(differences, higher_is_better)
    return {
        "n": len(differences),
        "mean_difference": interval.mean,
        "ci_low": interval.low,
        "ci_high": interval.high,
        "test": test,
        "p": p,
        "p_better": better,
        "p_better_low": better_low,
        "p_better_high": better_high,
    }


def with_holm(family: list[dict], alpha: float = ALPHA, higher_is_better: bool = True) -> list[dict]:
    """A family of paired comparisons with Holm-adjusted p-values and verdicts."""
    return [
        {**row, "p_holm": adjusted, "verdict": verdict(row["mean_difference"], adjusted, alpha, higher_is_better)}
        for row, adjusted in zip(family, holm([r["p"] for r in family]), strict=True)
    ]


def compare_to_baseline(
    results: pd.DataFrame,
    metric: str,
    baseline: str = "baseline",
    alpha: float = ALPHA,
    higher_is_better: bool = True,
) -> pd.DataFrame:
    """Per dataset and strategy: mean paired difference to baseline, test, Holm-adjusted p, verdict.

    Pairs are matched on seed (same test set); seeds missing on either side, or without the metric (a
    ROC-AUC undefined on that test set), are dropped. The verdict reads the difference by the metric's
    direction: a lower Brier score or ECE is better.
    """
    rows = []
    for dataset, group in results.groupby("dataset", sort=False):
        if not (group.strategy == baseline).any():
            continue
        wide = group.pivot(index="seed", columns="strategy", values=metric)  # one pivot, not a frame per strategy
        family = [
            {
                "dataset": dataset,
                "strategy": strategy,
                "metric": metric,
                **paired(wide[strategy], wide[baseline], higher_is_better),
            }
            for strategy in dict.fromkeys(group.strategy)
            if strategy != baseline
        ]
        rows += with_holm(family, alpha, higher_is_better)
    columns = [
        "dataset",
        "strategy",
        "metric",
        "n",
        "mean_difference",
        "ci_low",
        "ci_high",
        "test",
        "p",
        "p_holm",
        "verdict",
        "p_better",
        "p_better_low",
        "p_better_high",
    ]
    return pd.DataFrame(rows, columns=columns)


@dataclass(frozen=True)
class RankBlock:
    """Strategies ranked against each other on one dataset, the seeds they all have, and who is left out."""

    strategies: list[str]
    seeds: list[int]
    short: dict[str, int]  # strategy left out -> how many seeds it has

    def select(self, results: pd.DataFrame) -> pd.DataFrame:
        """The rows of `results` that the ranking uses."""
        return results[results.strategy.isin(self.strategies) & results.seed.isin(self.seeds)]


def rank_block(results: pd.DataFrame, strategies: Sequence[str] | None = None) -> RankBlock:
    """Which strategies of one dataset to rank, on the seeds every one of them has.

    A strategy missing a seed (skipped or failed) would otherwise be ranked on other, often easier, test
    sets. Either every ranked strategy is cut to the common seeds or a short strategy is left out; the
    choice keeping the most (strategy, seed) scores wins, and of equals the one ranking more strategies.
    """
    own = {s: frozenset(map(int, g.seed)) for s, g in results.groupby("strategy", sort=False)}
    if strategies is not None:
        own = {s: own[s] for s in strategies if s in own}
    candidates = set(own.values())
    while more := {a & b for a in candidates for b in candidates if a & b} - candidates:
        candidates |= more  # every seed set that some group of strategies has in common

    def ranked(seeds: frozenset[int]) -> list[str]:
        return [s for s, mine in own.items() if seeds <= mine]

    best = max(
        sorted(candidates, key=sorted),
        key=lambda seeds: (len(ranked(seeds)) * len(seeds), len(ranked(seeds))),
        default=frozenset(),
    )
    chosen = ranked(best)
    return RankBlock(chosen, sorted(best), {s: len(mine) for s, mine in own.items() if s not in chosen})


def common_seed_means(results: pd.DataFrame, metric: str) -> tuple[pd.DataFrame, dict[str, RankBlock]]:
    """Datasets (rows) x strategies (columns): each dataset's means over the seeds its ranked strategies share.

    A rank across datasets needs every dataset, so a strategy left out of one dataset's block is dropped
    and the blocks are chosen again for the others, until none drops out.
    """
    groups = {d: g for d, g in results.groupby("dataset", sort=False)}
    strategies = list(dict.fromkeys(results.strategy))
    while True:
        blocks = {d: rank_block(g, strategies) for d, g in groups.items()}
        kept = [s for s in strategies if all(s in b.strategies for b in blocks.values())]
        if kept == strategies:
            break
        strategies = kept
    means = {d: b.select(groups[d]).groupby("strategy")[metric].mean() for d, b in blocks.items()}
    return pd.DataFrame(means, columns=list(groups)).T.reindex(columns=strategies), blocks


def mean_ranks(scores: pd.DataFrame, higher_is_better: bool = True) -> pd.Series:
    """Average rank per strategy (column) over datasets (rows); rank 1 is the best score."""
    return scores.rank(axis=1, ascending=not higher_is_better).mean(axis=0).sort_values()


def friedman(scores: pd.DataFrame) -> tuple[float, float]:
    """Friedman chi-square over datasets (rows) x strategies (columns); needs 3+ strategies and 3+ tasks."""
    if scores.shape[1] < 3 or scores.shape[0] < MIN_TASKS_FOR_FRIEDMAN:
        return math.nan, math.nan
    result = stats.friedmanchisquare(*(scores[c].to_numpy() for c in scores.columns))
    return float(result.statistic), float(result.pvalue)


def nemenyi_critical_difference(k: int, n: int, alpha: float = ALPHA) -> float:
    """Demšar (2006): CD = q_alpha * sqrt(k(k+1) / 6N), q_alpha from the studentized range / sqrt(2)."""
    q_alpha = stats.studentized_range.ppf(1 - alpha, k, np.inf) / math.sqrt(2)
    return float(q_alpha * math.sqrt(k * (k + 1) / (6 * n)))
