"""The training tables as shown: cost to one decimal with the overhead as a percentage, and deferred weights."""

from __future__ import annotations

import math

import pandas as pd

from reports.training_tables import cost_rows, kept_epochs, overall_overhead


def cost(**overrides: float) -> pd.DataFrame:
    row = {"strategy": "a", "tuning_s": 10.0, "final_s": 20.0, "compute_s": 24.0, "timed_s": 30.0, "overhead": 0.25}
    row |= {"per_seed_s": 4.0, "epochs": 3.0, "samples_per_epoch": 62.0, "steps": math.nan, "trials": 2}
    return pd.DataFrame([row | overrides])


def test_a_cost_row_is_formatted_to_one_decimal_and_its_overhead_as_a_percentage():
    (row,) = cost_rows(cost())
    assert (row.tuning_s, row.trials, row.overhead, row.steps) == ("10.0", "2", "25%", "n/a")
    assert cost_rows(cost(overhead=math.nan))[0].overhead == "n/a"


def test_the_overall_overhead_needs_timing():
    assert overall_overhead(cost()) == "25.0% (6.0 s outside fit/predict, 24.0 s inside)"
    assert overall_overhead(cost(compute_s=0.0)) == "n/a (no timing recorded)"


def test_kept_epochs_count_the_runs_that_kept_weights_switched_on():
    history = [{"weights_from_epoch": 3, "kept_epoch": 4}, {"weights_from_epoch": 3, "kept_epoch": 2}, {}]
    frame = pd.DataFrame({"strategy": ["drw", "drw", "plain"], "status": "done", "history": history})
    (row,) = kept_epochs(frame, ["drw", "plain"])
    assert (row.strategy, row.weights_from, row.kept, row.on) == ("drw", "3.0", "2.0 to 4.0", "1 of 2")
