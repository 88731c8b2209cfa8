import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from reports.stats import (
    MIN_TASKS_FOR_FRIEDMAN,
    common_seed_means,
    compare_to_baseline,
    friedman,
    holm,
    mean_interval,
    mean_ranks,
    nemenyi_critical_difference,
    paired_test,
    probability_of_outperforming,
    rank_block,
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


def test_the_wilcoxon_switch_counts_only_non_zero_differences():
    six = np.array([0.1, 0.2, 0.05, 0.3, 0.15, 0.0])  # scipy's Wilcoxon would drop the tie: p = 2 / 2**5
    name, p = paired_test(six)
    assert name == "paired t" and p == pytest.approx(stats.ttest_1samp(six, 0.0).pvalue)
    seven = np.array([0.1, 0.2, 0.05, 0.3, 0.15, 0.12, 0.0])
    name, p = paired_test(seven)
    assert name == "Wilcoxon signed-rank" and p == pytest.approx(stats.wilcoxon(seven).pvalue)
    assert p == pytest.approx(2 / 2**6)  # six non-zero, all positive: the exact minimum, below 0.05


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
    assert math.isnan(friedman(scores.iloc[: MIN_TASKS_FOR_FRIEDMAN - 1])[0]), "too few datasets"


def frame(scores: dict[str, dict[str, dict[int, float]]]) -> pd.DataFrame:
    """Results rows from {dataset: {strategy: {seed: macro-F1}}}."""
    return pd.DataFrame(
        [
            {"dataset": d, "strategy": s, "seed": seed, "macro_f1": value}
            for d, by_strategy in scores.items()
            for s, by_seed in by_strategy.items()
            for seed, value in by_seed.items()
        ]
    )


def test_ranks_use_only_the_seeds_every_ranked_strategy_has():
    # Seed 3 of d1 is hard and "short" skipped it: over its own seeds it would rank first on d1.
    results = frame(
        {
            "d1": {"a": {1: 0.80, 2: 0.70, 3: 0.40}, "b": {1: 0.75, 2: 0.72, 3: 0.50}, "short": {1: 0.70, 2: 0.71}},
            "d2": {
                "a": {1: 0.70, 2: 0.68, 3: 0.69},
                "b": {1: 0.60, 2: 0.61, 3: 0.62},
                "short": {1: 0.65, 2: 0.66, 3: 0.64},
            },
        }
    )
    means, blocks = common_seed_means(results, "macro_f1")
    assert blocks["d1"].seeds == [1, 2] and blocks["d2"].seeds == [1, 2, 3]
    assert means.loc["d1"].to_dict() == pytest.approx({"a": 0.75, "b": 0.735, "short": 0.705})
    # By hand: d1 ranks a 1, b 2, short 3 on seeds 1-2; d2 ranks a 1, short 2, b 3 on seeds 1-3.
    assert mean_ranks(means).to_dict() == pytest.approx({"a": 1.0, "b": 2.5, "short": 2.5})


def test_a_strategy_short_of_seeds_is_left_out_when_cutting_would_lose_more():
    five = {seed: 0.5 + 0.01 * seed for seed in range(1, 6)}
    results = frame({"d": {"a": five, "b": five, "c": {1: 0.9, 3: 0.9, 5: 0.9}}})
    block = rank_block(results)
    assert (block.strategies, block.seeds, block.short) == (["a", "b"], [1, 2, 3, 4, 5], {"c": 3})
    results = frame({"d": {"a": five, "b": five, "c": {s: 0.9 for s in range(1, 5)}}})
    assert rank_block(results).seeds == [1, 2, 3, 4], "3 x 4 scores beat 2 x 5: everyone is cut to seeds 1-4"


def test_a_strategy_missing_a_dataset_is_not_ranked_across_datasets():
    results = frame({"d1": {"a": {1: 0.7}, "b": {1: 0.6}, "c": {1: 0.5}}, "d2": {"a": {1: 0.7}, "b": {1: 0.8}}})
    means, _ = common_seed_means(results, "macro_f1")
    assert list(means.columns) == ["a", "b"] and list(means.index) == ["d1", "d2"]


@pytest.mark.parametrize(("k", "q_alpha"), [(2, 1.960), (3, 2.343), (5, 2.728), (10, 3.164)])
def test_critical_difference_uses_demsar_q_values(k, q_alpha):
    n = 12
    assert nemenyi_critical_difference(k, n) == pytest.approx(q_alpha * math.sqrt(k * (k + 1) / (6 * n)), abs=2e-3)


def test_probability_of_outperforming_counts_ties_half_with_a_wilson_interval():
    share, low, high = probability_of_outperforming(np.array([0.1, 0.2, 0.0, -0.1, 0.3]))
    assert share == pytest.approx(3.5 / 5)
    z = stats.norm.ppf(0.975)  # Wilson (1927) by hand for p = 0.7, n = 5
    centre = (0.7 + z**2 / 10) / (1 + z**2 / 5)
    half = z / (1 + z**2 / 5) * math.sqrt(0.7 * 0.3 / 5 + z**2 / 100)
    assert (low, high) == pytest.approx((centre - half, centre + half))
    assert probability_of_outperforming(np.array([0.1, 0.2]), higher_is_better=False)[0] == 0.0, "a lower ECE wins"
    assert probability_of_outperforming(np.array([0.1] * 5))[1:] == pytest.approx((0.566, 1.0), abs=1e-3)


def test_the_comparison_with_baseline_gives_the_probability_of_outperforming():
    rows = [{"dataset": "d", "strategy": "baseline", "seed": s, "ece": 0.1} for s in range(4)]
    rows += [{"dataset": "d", "strategy": "calibrated", "seed": s, "ece": 0.1 - 0.01 * (s > 0)} for s in range(4)]
    row = compare_to_baseline(pd.DataFrame(rows), "ece", higher_is_better=False).iloc[0]
    assert row.p_better == pytest.approx(3.5 / 4) and row.p_better_low < row.p_better < row.p_better_high
