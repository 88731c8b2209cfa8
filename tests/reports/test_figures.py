"""The report's figures: each draws what its caption says, and a re-render reuses what did not change."""

import sys

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from reports import figures

STRATEGIES = ["baseline", "focal", "oversample"]
PALETTE = figures.strategy_palette(STRATEGIES)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def results() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    rows = [
        {"strategy": s, "seed": seed, "macro_f1": rng.random(), "macro_recall": rng.random()}
        for s in STRATEGIES
        for seed in range(1, 6)
    ]
    return pd.DataFrame(rows)


def test_scores_mark_each_strategys_mean_on_its_row():
    frame = results()
    figure = figures.scores(frame, PALETTE)
    for ax, metric in zip(figure.axes, ["macro_f1", "macro_recall"], strict=True):
        dots, means = ax.collections
        assert len(dots.get_offsets()) == len(frame)
        expected = frame.groupby("strategy", sort=False)[metric].mean().reindex(STRATEGIES)
        np.testing.assert_allclose(means.get_offsets()[:, 0], expected.to_numpy())
        np.testing.assert_array_equal(means.get_offsets()[:, 1], [0, 1, 2])
    assert [t.get_text() for t in figure.axes[0].get_yticklabels()] == STRATEGIES


def test_trials_keep_a_row_for_a_strategy_without_trials():
    frame = pd.DataFrame({"strategy": ["baseline", "baseline", "oversample"], "objective": [0.5, 0.6, 0.7]})
    ax = figures.trials(frame, PALETTE).axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == STRATEGIES
    [dots] = ax.collections  # no mean: the trials are a search, not a sample
    np.testing.assert_allclose(dots.get_offsets()[:, 0], [0.5, 0.6, 0.7])
    assert np.all(np.abs(dots.get_offsets()[:, 1] - [0, 0, 2]) <= 0.2)  # oversample's row, below focal's empty one


def test_heatmaps_show_the_mean_over_seeds_per_class():
    per_class = pd.DataFrame(
        [
            {"strategy": s, "seed": seed, "metric": m, "class_index": c, "value": 0.1 * c + 0.01 * seed}
            for s in STRATEGIES
            for seed in (1, 3)
            for m in ("recall", "f1")
            for c in range(3)
        ]
    )
    figure = figures.heatmaps(per_class, STRATEGIES, ["a", "b", "c"])
    image = figure.axes[0].get_images()[0].get_array()
    np.testing.assert_allclose(image, np.tile([0.02, 0.12, 0.22], (3, 1)))
    assert "0.12" in [t.get_text() for t in figure.axes[0].texts]


def test_grouped_bars_put_each_column_beside_the_others():
    counts = pd.DataFrame(
        [{"class": c, "split": s, "count": n} for c, n in (("a", 10), ("b", 2)) for s in ("train", "val", "test")]
    )
    ax = figures.class_counts(counts).axes[0]
    heights = [bar.get_height() for bar in ax.patches]
    assert heights == [10, 2, 10, 2, 10, 2]  # per split, one bar per class
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["train", "val", "test"]


def test_class_groups_and_curves_draw_a_bar_and_a_line_per_strategy():
    groups = pd.DataFrame(
        [
            {"strategy": s, "group": g, "metric": m, "value": 0.5}
            for s in STRATEGIES
            for g in ("head", "tail")
            for m in ("macro-F1", "macro-recall")
        ]
    )
    assert len(figures.class_groups(groups, PALETTE).axes[0].patches) == 2 * len(STRATEGIES)
    histories = pd.DataFrame(
        [
            {"strategy": s, "seed": seed, "epoch": e, "loss": 1 / e}
            for s in STRATEGIES
            for seed in (1, 2)
            for e in (1, 2)
        ]
    )
    loss, val = figures.curves(histories, PALETTE).axes  # no val_macro_f1 logged: that panel stays empty
    assert [line.get_label() for line in loss.lines] == STRATEGIES and not val.lines
    np.testing.assert_allclose(loss.lines[0].get_ydata(), [1.0, 0.5])


def test_reliability_has_a_titled_panel_per_strategy():
    counts = np.array([0, 2, 2], float)
    bins = {s: (counts, np.array([0, 0.8, 1.8]), np.array([0, 1, 2])) for s in STRATEGIES}
    ax = figures.reliability(bins, {"baseline": 0.125}, PALETTE).axes[0]
    titles = [t.get_text() for t in ax.texts if "\n" in t.get_text()]
    assert titles == ["baseline\nECE 0.125", "focal\nECE nan", "oversample\nECE nan"]
    points = ax.collections[0].get_offsets()  # baseline's panel: mean confidence and accuracy of the used bins
    np.testing.assert_allclose(points, [[0.4, 0.5], [0.9, 1.0]])


def test_cost_draws_both_phases_and_the_samples_per_epoch():
    frame = pd.DataFrame(
        {
            "strategy": STRATEGIES,
            "tuning_s": [3.0, 4.0, 5.0],
            "final_s": [1.0, 1.0, 2.0],
            "samples_per_epoch": [9, 9, 30],
        }
    )
    left, right = figures.cost(frame, PALETTE).axes
    assert sorted(bar.get_width() for bar in left.patches) == [1.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert [bar.get_width() for bar in right.patches] == [9, 9, 30]


def counts_figure(name: str, n: int) -> figures.Figure:
    counts = pd.DataFrame({"class": ["a", "b"], "split": ["train", "train"], "count": [n, 1]})
    return figures.Figure(name, "Class counts", "", figures.class_counts, (counts,))


def test_a_rerender_draws_only_the_figures_whose_inputs_changed(tmp_path, monkeypatch):
    first = [counts_figure("one", 5), counts_figure("two", 6)]
    figures.draw_all(first, ("png",), reuse=tmp_path / "figures")
    figures.write_files(first, tmp_path)
    drawn = []
    monkeypatch.setattr(figures, "_drawn", lambda job: drawn.append(job[1][0]["count"][0]) or {"png": b"new"})

    again = [counts_figure("one", 5), counts_figure("two", 7)]
    figures.draw_all(again, ("png",), reuse=tmp_path / "figures")
    assert drawn == [7]  # "one" is the same, "two" has new data
    assert again[0].images == first[0].images and again[1].images == {"png": b"new"}

    (tmp_path / "figures" / "one.png").unlink()  # a missing file is drawn again
    figures.draw_all([counts_figure("one", 5)], ("png",), reuse=tmp_path / "figures")
    figures.draw_all([counts_figure("one", 5)], ("svg",), reuse=tmp_path / "figures")  # another format
    assert drawn == [7, 5, 5]


def test_the_key_follows_data_format_and_drawing_function():
    one = counts_figure("one", 5)
    assert figures.drawing_key(one, ("png",)) == figures.drawing_key(counts_figure("other-name", 5), ("png",))
    assert figures.drawing_key(one, ("png",)) != figures.drawing_key(counts_figure("one", 6), ("png",))
    assert figures.drawing_key(one, ("png",)) != figures.drawing_key(one, ("png", "pdf"))
    other = figures.Figure("one", "", "", figures.trials, one.args)
    assert figures.drawing_key(one, ("png",)) != figures.drawing_key(other, ("png",))


def test_workers_draw_what_the_process_itself_would(monkeypatch):
    serial = [counts_figure(str(n), n) for n in range(3)]
    figures.draw_all(serial, ("png",))
    monkeypatch.setattr(figures, "PARALLEL_FROM", 2)
    parallel = [counts_figure(str(n), n) for n in range(3)]
    figures.draw_all(parallel, ("png",))
    assert [f.images for f in parallel] == [f.images for f in serial]


def test_workers_are_forked_only_without_a_keras_backend_or_other_threads(monkeypatch):
    for backend in figures.BACKENDS:
        monkeypatch.delitem(sys.modules, backend, raising=False)
    monkeypatch.setattr(figures.threading, "active_count", lambda: 1)
    assert figures._start_method() == "fork"
    monkeypatch.setitem(sys.modules, "tensorflow", object())
    assert figures._start_method() == "spawn"
    monkeypatch.delitem(sys.modules, "tensorflow")
    monkeypatch.setattr(figures.threading, "active_count", lambda: 2)
    assert figures._start_method() == "spawn"
