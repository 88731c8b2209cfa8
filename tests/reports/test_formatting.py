"""The report's shared formats: one p-value format for tables and sentences, gaps as 'n/a', safe table cells."""

from __future__ import annotations

import math

import pytest

from reports.formatting import fmt, fmt_p, format_hyperparameters, markdown_cell, seed_list, spread, when


@pytest.mark.parametrize(
    ("value", "table", "sentence"),
    [
        (0.0312, "0.031", "p = 0.031"),
        (0.001, "0.001", "p = 0.001"),
        (0.000999, "< 0.001", "p < 0.001"),
        (0.0, "< 0.001", "p < 0.001"),
        (1.0, "1.000", "p = 1.000"),
        (math.nan, "n/a", "p = n/a"),
    ],
)
def test_a_p_value_reads_the_same_in_a_table_and_in_a_sentence(value, table, sentence):
    assert fmt_p(value) == table
    assert fmt_p(value, clause=True) == sentence


def test_missing_values_read_n_a_and_floats_get_their_digits():
    assert [fmt(None), fmt(math.nan), fmt(0.12345), fmt(0.12345, 1), fmt(3), fmt("x")] == [
        "n/a",
        "n/a",
        "0.123",
        "0.1",
        "3",
        "x",
    ]


def test_a_markdown_cell_cannot_break_the_table_or_inject_html():
    assert markdown_cell("a|b\nc <i>&") == "a\\|b c &lt;i&gt;&amp;"


def test_hyperparameters_are_sorted_and_floats_shortened():
    assert format_hyperparameters({"units": 64, "learning_rate": 0.0012345}) == "learning_rate=0.00123, units=64"


def test_seed_lists_spreads_and_times():
    assert (seed_list([3]), seed_list([1, 2, 5])) == ("seed 3", "seeds 1, 2, 5")
    assert (spread([4.0, 4.0]), spread([4.0, 2.5])) == ("4.0", "2.5 to 4.0")
    assert (when(""), when("0")) == ("n/a", "1970-01-01 00:00:00 UTC")
