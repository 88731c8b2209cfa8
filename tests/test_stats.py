import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from reports.stats import (
    compare_to_baseline,
    friedman,
    holm,
    mean_interval,
    mean_ranks,
    nemenyi_critical_difference,
    paired_test,
    verdict,
)


def test_interval_by_hand():
    interval = mean_interval([1.0, 2.0, 3.0])
    half_width = stats.t.ppf(0.975, 2) * 1.0 / math.sqrt(3)  # 4.303 * 0.577
    assert (interval.mean, interval.std, interval.n) == (2.0, 1.0, 3)
    assert interval.low == pytest.approx(2 - half_width) and interval.high == pytest.approx(2 + half_width)
    assert half_width == pytest.approx(2.484, abs=1e-3)


def test_interval_of_one_seed_has_no_width():
    interval = mean_interval([0.7])
    assert interval.mean == 0.7 and math.isnan(interval.low) and math.isnan(interval.std)


def test_few_seeds_use_the_paired_t_test():
    a, b = np.array([0.6, 0.7, 0.65, 0.72]), np.array([0.5, 0.66, 0.6, 0.61])
    name, p = paired_test(a - b)
    assert name == "paired t" and p == pytest.approx(stats.ttest_rel(a, b).pvalue)


def test_six_or_more_seeds_use_wilcoxon():
    differences = np.array([0.1, 0.2, 0.05, 0.3, 0.15, 0.12, 0.08])
    name, p = paired_test(differences)
    assert name == "Wilcoxon signed-rank" and p == pytest.approx(stats.wilcoxon(differences).pvalue)
    assert p == pytest.approx(2 / 2**7)  # all positive: the exact two-sided minimum


def test_degenerate_differences():
    assert paired_test(np.zeros(4)) == ("none (identical scores)", 1.0)
    assert paired_test(np.array([0.1]))[0].startswith("none")


def test_holm_by_hand():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.2, math.nan])[0] == 0.2 and math.isnan(holm([0.2, math.nan])[1])
    assert holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])


@pytest.mark.parametrize(
    ("difference", "p", "expected"),
    [
        (0.1, 0.01, "better"),
        (-0.1, 0.01, "worse"),
        (0.1, 0.2, "no detectable difference"),
        (0.1, math.nan, "no detectable difference"),
    ],
)
def test_verdicts(difference, p, expected):
    assert verdict(difference, p) == expected


def test_compare_to_baseline_pairs_on_seed_and_corrects_for_the_family():
    seeds = range(8)
    rows = [{"dataset": "d", "strategy": "baseline", "seed": s, "macro_f1": 0.5 + 0.01 * s} for s in seeds]
    rows += [{"dataset": "d", "strategy": "good", "seed": s, "macro_f1": 0.6 + 0.01 * s + 0.001 * s**2} for s in seeds]
    rows += [
        {"dataset": "d", "strategy": "same", "seed": s, "macro_f1": 0.5 + 0.01 * s + (-1) ** s * 0.01} for s in seeds
    ]
    table = compare_to_baseline(pd.DataFrame(rows), "macro_f1").set_index("strategy")
    assert table.loc["good", "verdict"] == "better" and table.loc["good", "test"] == "Wilcoxon signed-rank"
    assert table.loc["good", "p_holm"] == pytest.approx(2 * 2 / 2**8)
    assert table.loc["same", "verdict"] == "no detectable difference"
    assert table.loc["good", "mean_difference"] == pytest.approx(0.1 + 0.001 * np.mean(np.arange(8) ** 2))


def test_ranks_and_friedman_match_scipy():
    scores = pd.DataFrame({"a": [0.9, 0.8, 0.85], "b": [0.7, 0.75, 0.6], "c": [0.8, 0.7, 0.9]})
    assert mean_ranks(scores).to_dict() == pytest.approx({"a": 4 / 3, "c": 2.0, "b": 8 / 3})
    statistic, p = friedman(scores)
    expected = stats.friedmanchisquare(scores.a, scores.b, scores.c)
    assert (statistic, p) == pytest.approx((expected.statistic, expected.pvalue))
    assert math.isnan(friedman(scores[["a", "b"]])[0])


@pytest.mark.parametrize(("k", "q_alpha"), [(2, 1.960), (3, 2.343), (5, 2.728), (10, 3.164)])
def test_critical_difference_uses_demsar_q_values(k, q_alpha):
    n = 12
    assert nemenyi_critical_difference(k, n) == pytest.approx(q_alpha * math.sqrt(k * (k + 1) / (6 * n)), abs=2e-3)
