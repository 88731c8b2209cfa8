"""The score tables: the summary's order and ranks, mean ± std cells, and which metrics are compared."""

from __future__ import annotations

import math

import pandas as pd

from reports.score_tables import compared_metrics, mean_table, order_key, shown_metrics, summary


def test_the_chosen_metric_leads_and_each_metric_is_shown_once():
    assert shown_metrics("macro_recall") == ["macro_recall", "macro_f1"]
    assert compared_metrics("ece") == ["ece", "macro_f1", "macro_recall", "macro_pr_auc", "worst_class_recall"]


def test_the_best_value_sorts_first_in_each_direction_and_a_missing_one_last():
    assert sorted([0.2, math.nan, 0.9], key=lambda v: order_key(v, "macro_f1"))[:2] == [0.9, 0.2]
    assert sorted([0.2, math.nan, 0.9], key=lambda v: order_key(v, "ece"))[:2] == [0.2, 0.9]


def test_a_strategy_short_of_seeds_is_listed_after_the_ranked_ones_without_a_rank():
    results = pd.DataFrame(
        {
            "strategy": ["a", "a", "b", "b", "short"],
            "seed": [1, 2, 1, 2, 1],
            "macro_f1": [0.5, 0.7, 0.8, 0.8, 0.99],
            "macro_recall": [0.5, 0.5, 0.5, 0.5, 0.5],
        }
    )
    rows, block = summary(results, ["a", "b", "short"], "macro_f1")
    assert [(r.rank, r.strategy, r.seeds) for r in rows] == [
        ("1", "b", "2"),
        ("2", "a", "2"),
        ("–", "short", "1 of 2: not ranked"),
    ]
    assert block.seeds == [1, 2] and rows[1].scores[0].mean == "0.600" and rows[1].scores[0].std == "0.141"
    assert [r.values for r in mean_table(rows, ("macro_f1",))] == [
        ["0.800 ± 0.000"],
        ["0.600 ± 0.141"],
        ["0.990 ± n/a"],
    ]
