"""The class tables: how the report words the classes a split lacks or validates on too few rows, and the counts."""

from __future__ import annotations

import pandas as pd

from reports.class_tables import absent_classes, class_counts, count_rows, imbalance, thin_validation


def cells(*rows: tuple[int, str, list[int], list[int]], status: str = "done") -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"dataset": "toy", "seed": seed, "strategy": strategy, "status": status, "class_counts": counts}
            for seed, strategy, val, test in rows
            for counts in [{"train": [50, 10, 2], "val": val, "test": test}]
        ]
    )


def test_absent_classes_name_the_split_seeds_and_strategies():
    frame = cells((2, "a", [5, 0, 1], [9, 9, 9]), (1, "b", [5, 0, 1], [9, 9, 0]), (1, "a", [5, 5, 5], [9, 9, 9]))
    assert absent_classes(frame, ["x", "y", "z"]) == ["y from validation (seeds 1, 2; a, b)", "z from test (seed 1; b)"]
    failed = cells((3, "a", [5, 0, 5], [9, 9, 9]), status="failed")
    assert absent_classes(failed, ["x", "y", "z"]) == []  # only finished cells count


def test_thin_validation_classes_are_listed_in_class_order_with_the_fewest_rows_per_seed():
    frame = cells((1, "a", [5, 5, 2], [9, 9, 9]), (1, "b", [1, 5, 1], [9, 9, 9]), (2, "a", [2, 0, 5], [9, 9, 9]))
    assert thin_validation(frame, ["x", "y", "z"]) == ["x (seed 1: 1, 2: 2)", "z (seed 1: 1)"]


def test_the_counts_table_follows_the_class_order_of_the_first_finished_cell():
    frame = cells((3, "a", [5, 4, 1], [9, 8, 7]))
    counts, source = class_counts(frame, ["x", "y", "z"])
    assert source == "seed 3, a split"
    assert [(r.name, r.train, r.val, r.test) for r in count_rows(counts, ["x", "y", "z"])] == [
        ("x", 50, 5, 9),
        ("y", 10, 4, 8),
        ("z", 2, 1, 7),
    ]
    assert imbalance("digits-lt[ratio=100]", frame).train == "25.0" and imbalance("toy", frame).requested == ""


def test_a_finished_cell_without_class_counts_is_left_out_not_a_crash():
    """A store migrated from an early schema holds finished cells without class counts; `bench status` skips them."""
    frame = cells((1, "a", [5, 0, 1], [9, 9, 9]), (2, "a", [5, 5, 5], [9, 9, 0]))
    frame.loc[0, "class_counts"] = None
    names = ["x", "y", "z"]
    assert absent_classes(frame, names) == ["z from test (seed 2; a)"]
    assert class_counts(frame, names)[1] == "seed 2, a split"
    assert imbalance("toy", frame).cells == "1"
    assert thin_validation(frame, names) == []
