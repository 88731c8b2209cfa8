"""The report's figures; each reads the tidy frames only and draws one question.

One colour per strategy across every figure (seaborn's colour-blind palette, in
study order), so a reader can follow a strategy from plot to plot. They are
drawn with matplotlib's own calls under seaborn's theme: seaborn's stripplot,
barplot and lineplot loop over every strategy in their data handling, which at
20 strategies and 50 seeds cost more than drawing the picture.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import json
import multiprocessing
import os
import pickle
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

from bench.backend import BACKENDS

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from bench.storage.files import write_atomically  # noqa: E402
from reports.stats import mean_ranks, nemenyi_critical_difference  # noqa: E402

Palette = dict[str, tuple[float, float, float]]


MIME = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf"}


@dataclass
class Figure:
    """A figure of the report: its file name (no suffix), text, how to draw it, and its images once drawn."""

    name: str
    title: str
    caption: str
    draw: Callable[..., plt.Figure]
    args: tuple[Any, ...] = ()
    images: dict[str, bytes] = field(default_factory=dict)
    key: str = ""  # digest of what its images depend on, once draw_all has seen it

    @property
    def shown(self) -> str:
        """The format the reports show: SVG when drawn, else PNG (a PDF is for papers, beside it)."""
        return "svg" if "svg" in self.images else "png"

    @property
    def file(self) -> str:
        return f"figures/{self.name}.{self.shown}"

    def data_uri(self) -> str:
        """The shown image inline, so the HTML report loads nothing."""
        return f"data:{MIME[self.shown]};base64," + base64.b64encode(self.images[self.shown]).decode("ascii")


def formats_drawn(figure_format: str) -> tuple[str, ...]:
    """The formats to draw for `--figure-format`: the one asked for, and PNG for the reports beside a PDF."""
    return ("png", "pdf") if figure_format == "pdf" else (figure_format,)


def strategy_palette(strategies: list[str]) -> Palette:
    colours = sns.color_palette("colorblind", n_colors=max(len(strategies), 1))
    return dict(zip(strategies, colours, strict=False))


def render(draw: Callable[[], plt.Figure], formats: tuple[str, ...] = ("png",)) -> dict[str, bytes]:
    """The figure `draw` makes, saved in each format (SVG and PDF without a creation date: a re-render is the same)."""
    with sns.axes_style("whitegrid"), sns.plotting_context("notebook", font_scale=0.9):
        figure = draw()
    images = {}
    for kind in formats:
        buffer = io.BytesIO()
        # PNG at a low zlib level: a fraction of the encoding time of the default, for about a fifth more bytes
        options = {"pil_kwargs": {"compress_level": 1}} if kind == "png" else {"metadata": {"Date": None}}
        figure.savefig(buffer, format=kind, dpi=100, bbox_inches="tight", **options)
        images[kind] = buffer.getvalue()
    plt.close(figure)
    return images


GREY = (0.6, 0.6, 0.6)


def _strips(ax: plt.Axes, values: dict[str, np.ndarray], palette: Palette, means: bool = True) -> None:
    """One row of jittered dots per name (top to bottom in the dict's order), with its mean as a black diamond.

    Drawn as two scatter calls rather than seaborn's stripplot, which loops over every level: at a few
    thousand points and tens of strategies that was most of a large report's drawing time.
    """
    names = list(values)
    jitter = np.random.default_rng(0)  # the same picture on every render
    x = np.concatenate([values[n] for n in names]) if names else np.empty(0)
    y = np.concatenate([i + jitter.uniform(-0.2, 0.2, len(values[n])) for i, n in enumerate(names)]) if names else x
    colours = [palette.get(n, GREY) for n in names for _ in range(len(values[n]))]
    ax.scatter(x, y, c=colours or None, s=36, alpha=0.7, linewidths=0)
    if means:
        centres = [float(np.mean(values[n])) if len(values[n]) else np.nan for n in names]
        ax.scatter(centres, range(len(names)), marker="D", s=60, color="black", zorder=3)
    ax.set_yticks(range(len(names)), names)
    ax.set_ylim(len(names) - 0.5, -0.5)


def _grouped_bars(ax: plt.Axes, table: pd.DataFrame, colours: dict[Any, Any], horizontal: bool = False) -> None:
    """A bar per column of `table` beside each other at every row's position (rows on the category axis)."""
    width = 0.8 / max(len(table.columns), 1)
    positions = np.arange(len(table.index))
    for i, column in enumerate(table.columns):
        where = positions - 0.4 + width * (i + 0.5)
        values = table[column].to_numpy(dtype=float)
        if horizontal:
            ax.barh(where, values, height=width, color=colours[column], label=str(column))
        else:
            ax.bar(where, values, width=width, color=colours[column], label=str(column))
    labels = [str(v) for v in table.index]
    if horizontal:
        ax.set_yticks(positions, labels)
        ax.set_ylim(len(positions) - 0.5, -0.5)
    else:
        ax.set_xticks(positions, labels)


def _legend_beside(ax: plt.Axes, source: plt.Axes | None = None) -> None:
    """The legend of `source` (default `ax`) to the right of `ax`."""
    handles, labels = (source or ax).get_legend_handles_labels()
    ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1), fontsize="small", frameon=False)


def scores(results: pd.DataFrame, palette: Palette) -> plt.Figure:
    """Test macro-F1 and macro-recall of every seed, with the mean as a diamond."""
    strategies = [s for s in palette if s in set(results.strategy)]
    figure, axes = plt.subplots(1, 2, figsize=(10, 0.45 * len(strategies) + 1.5), sharey=True)
    for ax, metric in zip(axes, ["macro_f1", "macro_recall"], strict=True):
        by_strategy = results.groupby("strategy", sort=False)[metric]
        _strips(ax, {s: by_strategy.get_group(s).dropna().to_numpy() for s in strategies}, palette)
        ax.set_xlabel(metric.replace("_", "-"))
    return figure


def heatmaps(per_class: pd.DataFrame, strategies: list[str], class_names: list[str]) -> plt.Figure:
    """Mean per-class recall and F1 over seeds (rows strategies, columns classes)."""
    figure, axes = plt.subplots(1, 2, figsize=(3 + 1.2 * len(class_names), 0.5 * len(strategies) + 1.6))
    annotate = len(class_names) * len(strategies) <= 120  # each number is text to lay out and draw
    for ax, metric in zip(axes, ["recall", "f1"], strict=True):
        table = (
            per_class[per_class.metric == metric]
            .pivot_table(index="strategy", columns="class_index", values="value", aggfunc="mean")
            .reindex(index=strategies, columns=range(len(class_names)))
            .to_numpy(dtype=float)
        )
        image = ax.imshow(table, vmin=0, vmax=1, cmap="viridis", aspect="auto", interpolation="nearest")
        if annotate:
            for (i, j), value in np.ndenumerate(table):
                if not np.isnan(value):
                    colour = "black" if value > 0.6 else "white"  # readable on viridis's light and dark ends
                    ax.text(j, i, f"{value:.2f}", ha="center", va="center", color=colour, fontsize=8)
        ax.set_xticks(range(len(class_names)), class_names, rotation=90 if max(map(len, class_names)) > 3 else 0)
        ax.set_yticks(range(len(strategies)), strategies if ax is axes[0] else [])
        ax.grid(False)
        ax.set(title=f"per-class {metric}", xlabel="class", ylabel="")
    figure.colorbar(image, ax=axes[-1])
    return figure


def confusions(matrices: dict[str, np.ndarray], class_names: list[str]) -> plt.Figure:
    """Row-normalised confusion matrices pooled over seeds, one panel per strategy, in one image.

    The panels are tiles of a single imshow (blank between them) in one axes:
    the same picture as a grid of subplots, without laying out and drawing the
    ticks of every subplot, which made this figure most of a large report's
    rendering time.
    """
    k = len(class_names)
    columns = min(4, len(matrices))
    rows = -(-len(matrices) // columns)
    gap, step = 2, k + 2  # blank rows above each panel hold its title
    mosaic = np.full((rows * step, columns * step - 1), np.nan)
    figure, ax = plt.subplots(figsize=(1.2 + columns * (0.9 + 0.25 * k), 0.6 + rows * (1.1 + 0.25 * k)))
    for index, (strategy, counts) in enumerate(matrices.items()):
        totals = counts.sum(axis=1, keepdims=True)
        normalised = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)
        top, left = (index // columns) * step + gap, (index % columns) * step
        mosaic[top : top + k, left : left + k] = normalised
        ax.text(left + k / 2 - 0.5, top - 0.8, strategy, ha="center", va="bottom", fontsize="small")
        if k <= 6:
            for (i, j), value in np.ndenumerate(normalised):
                colour = "white" if value > 0.5 else "black"
                ax.text(left + j, top + i, f"{value:.2f}", ha="center", va="center", color=colour, fontsize="x-small")
    ax.imshow(mosaic, vmin=0, vmax=1, cmap="Blues", interpolation="nearest")
    ax.set_yticks([gap + i for i in range(k)], class_names, fontsize="x-small")
    ax.set_xticks(range(k), class_names, rotation=90, fontsize="x-small")
    ax.tick_params(length=0, labeltop=False)
    ax.set(xlabel="predicted (columns of each panel)", ylabel="true (rows of each panel)")
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    return figure


def reliability(bins: dict[str, np.ndarray], eces: dict[str, float], palette: Palette) -> plt.Figure:
    """Reliability diagram per strategy, pooled over seeds: accuracy against confidence in each bin of the
    top-label confidence (dot size = samples), the diagonal where they agree, ECE in the title.

    Like the confusion matrices, the panels are unit squares tiled in one axes, their scales written as
    text: a grid of subplots laid out and drew a full set of ticks per strategy.
    """
    columns = min(4, len(bins))
    step_x, step_y = 1.3, 1.55  # a unit panel, then room for the next one's scale and title
    figure, ax = plt.subplots(figsize=(0.6 + 2.3 * columns, 0.4 + 2.6 * -(-len(bins) // columns)))
    frames, guides = [], []
    for index, (strategy, (counts, confidence, correct)) in enumerate(bins.items()):
        row, column = divmod(index, columns)
        x0, y0 = column * step_x, -row * step_y
        frames.append([(x0, y0), (x0 + 1, y0), (x0 + 1, y0 + 1), (x0, y0 + 1), (x0, y0)])
        guides += [[(x0 + 0.5, y0), (x0 + 0.5, y0 + 1)], [(x0, y0 + 0.5), (x0 + 1, y0 + 0.5)]]
        ax.plot([x0, x0 + 1], [y0, y0 + 1], color="grey", lw=1, ls="--")
        used = counts > 0
        mean_confidence, accuracy = confidence[used] / counts[used], correct[used] / counts[used]
        colour = palette.get(strategy, GREY)
        ax.plot(x0 + mean_confidence, y0 + accuracy, color=colour, lw=1.2)
        size = 8 + 120 * counts[used] / counts.sum()
        ax.scatter(x0 + mean_confidence, y0 + accuracy, s=size, color=colour, zorder=3)
        title = f"{strategy}\nECE {eces.get(strategy, float('nan')):.3f}"
        ax.text(x0 + 0.5, y0 + 1.04, title, ha="center", va="bottom", fontsize="small")
        for tick in (0, 0.5, 1):
            if column == 0:
                ax.text(x0 - 0.03, y0 + tick, f"{tick:g}", ha="right", va="center", fontsize="x-small")
            if index + columns >= len(bins):  # the lowest panel of its column
                ax.text(x0 + tick, y0 - 0.04, f"{tick:g}", ha="center", va="top", fontsize="x-small")
        if column == 0:
            ax.text(x0 - 0.17, y0 + 0.5, "accuracy", rotation=90, ha="right", va="center", fontsize="small")
        if index + columns >= len(bins):
            ax.text(x0 + 0.5, y0 - 0.14, "confidence", ha="center", va="top", fontsize="small")
    ax.add_collection(LineCollection(frames, colors="0.6", linewidths=0.8))
    ax.add_collection(LineCollection(guides, colors="0.88", linewidths=0.8, zorder=0))
    ax.set_aspect("equal")
    ax.autoscale_view()
    ax.axis("off")
    return figure


def class_groups(frame: pd.DataFrame, palette: Palette) -> plt.Figure:
    """Macro-F1 and macro-recall of the head, medium and tail classes per strategy (means over seeds)."""
    figure, axes = plt.subplots(1, 2, figsize=(10, 3.4), sharey=True)
    strategies = [s for s in palette if s in set(frame.strategy)]
    groups = list(dict.fromkeys(frame.group))
    for ax, metric in zip(axes, ["macro-F1", "macro-recall"], strict=True):
        table = frame[frame.metric == metric].pivot(index="group", columns="strategy", values="value")
        _grouped_bars(ax, table.reindex(index=groups, columns=strategies), palette)
        ax.set(title=metric, xlabel="classes by training-pool count", ylabel="mean over seeds", ylim=(0, 1))
    _legend_beside(axes[-1])
    return figure


def class_counts(counts: pd.DataFrame) -> plt.Figure:
    """Samples per class in train / validation / test, as trained."""
    figure, ax = plt.subplots(figsize=(2 + 0.6 * counts["class"].nunique(), 3.2))
    table = counts.pivot(index="class", columns="split", values="count")
    table = table.reindex(index=list(dict.fromkeys(counts["class"])), columns=list(dict.fromkeys(counts.split)))
    _grouped_bars(ax, table, dict(zip(table.columns, sns.color_palette("colorblind"), strict=False)))
    ax.legend(title="split")
    ax.set(ylabel="samples", xlabel="class")
    return figure


def curves(histories: pd.DataFrame, palette: Palette) -> plt.Figure:
    """Training loss and validation macro-F1 per epoch: mean over seeds with a ±1 std band."""
    figure, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, column in zip(axes, ["loss", "val_macro_f1"], strict=True):
        if column in histories:
            spread = histories.groupby(["strategy", "epoch"], sort=False)[column].agg(["mean", "std"])
            for strategy in [s for s in palette if s in spread.index.get_level_values(0)]:
                line = spread.loc[strategy].sort_index()
                colour = palette[strategy]
                ax.plot(line.index, line["mean"], color=colour, label=strategy)
                ax.fill_between(
                    line.index, line["mean"] - line["std"], line["mean"] + line["std"], color=colour, alpha=0.2, lw=0
                )
        ax.set(xlabel="epoch", ylabel=column.replace("_", " "))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    _legend_beside(axes[-1], axes[0])  # the loss panel has every strategy, even if none logged validation F1
    return figure


def trials(frame: pd.DataFrame, palette: Palette) -> plt.Figure:
    """Validation macro-F1 of every tuning trial, per strategy."""
    figure, ax = plt.subplots(figsize=(7, 0.45 * len(palette) + 1.5))
    by_strategy = dict(list(frame.groupby("strategy", sort=False).objective))
    trial_scores = {s: by_strategy[s].to_numpy() if s in by_strategy else np.empty(0) for s in palette}
    _strips(ax, trial_scores, palette, means=False)
    ax.set(xlabel="best validation macro-F1 of the trial", ylabel="")
    return figure


def cost(frame: pd.DataFrame, palette: Palette) -> plt.Figure:
    """Wall time (tuning and final runs) and training samples seen per epoch."""
    figure, axes = plt.subplots(1, 2, figsize=(10, 0.45 * len(frame) + 1.8), sharey=True)
    phases = frame.set_index("strategy").rename(columns={"tuning_s": "tuning", "final_s": "final runs"})
    phases = phases[["tuning", "final runs"]]
    _grouped_bars(axes[0], phases, dict(zip(phases.columns, sns.color_palette("colorblind"), strict=False)), True)
    axes[0].legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False)
    samples = frame.set_index("strategy")[["samples_per_epoch"]]
    colours = [palette.get(s, GREY) for s in samples.index]
    axes[1].barh(range(len(samples)), samples.samples_per_epoch.to_numpy(dtype=float), color=colours)
    axes[0].set(ylabel="", xlabel="wall time (s)")
    axes[1].set(ylabel="", xlabel="training samples per epoch")
    return figure


def critical_difference(scores_by_dataset: pd.DataFrame, palette: Palette, higher_is_better: bool = True) -> plt.Figure:
    """Demšar's critical-difference diagram: mean ranks on an axis, the Nemenyi CD, and bars
    joining strategies whose mean ranks differ by less than CD (not significantly different)."""
    ranks = mean_ranks(scores_by_dataset, higher_is_better)
    k, n = scores_by_dataset.shape[1], scores_by_dataset.shape[0]
    cd = nemenyi_critical_difference(k, n)
    half = -(-k // 2)
    figure, ax = plt.subplots(figsize=(8, 1.6 + 0.3 * half))
    ax.set_xlim(0.5 - 0.15 * k, k + 0.5 + 0.15 * k)
    ax.set_ylim(-(half + 1.2), 1.6)
    ax.plot([1, k], [0, 0], color="black", lw=1)
    for tick in range(1, k + 1):
        ax.plot([tick, tick], [0, 0.12], color="black", lw=1)
        ax.text(tick, 0.2, str(tick), ha="center", va="bottom", fontsize="small")
    ax.plot([1, 1 + cd], [1.2, 1.2], color="black", lw=2)
    ax.text(1 + cd / 2, 1.3, f"CD = {cd:.2f}", ha="center", va="bottom", fontsize="small")
    for i, (strategy, rank) in enumerate(ranks.items()):
        left = i < half  # best ranks are labelled on the left, the rest on the right
        row = i if left else k - 1 - i
        y = -(row + 0.8)
        edge = 0.5 - 0.1 * k if left else k + 0.5 + 0.1 * k
        colour = palette.get(strategy, "grey")
        ax.plot([rank, rank, edge], [0, y, y], color=colour, lw=1.2)
        ax.text(
            edge,
            y,
            f" {strategy} ({rank:.2f}) " if left else f" ({rank:.2f}) {strategy}",
            ha="right" if left else "left",
            va="center",
            fontsize="small",
        )
    values = list(ranks.to_numpy())
    groups = []
    for i in range(k):
        j = max(j for j in range(i, k) if values[j] - values[i] < cd)
        if j > i and not any(a <= i and j <= b for a, b in groups):
            groups.append((i, j))
    for level, (i, j) in enumerate(groups):
        y = -0.25 - 0.18 * level
        ax.plot([values[i] - 0.05, values[j] + 0.05], [y, y], color="black", lw=3, solid_capstyle="round")
    ax.axis("off")
    return figure


PARALLEL_FROM = 30  # figures: below this, starting worker processes costs more than it saves


def _drawn(job: tuple[Callable[..., plt.Figure], tuple[Any, ...], tuple[str, ...]]) -> dict[str, bytes]:
    draw, args, formats = job
    return render(lambda: draw(*args), formats)


def _start_method() -> str:
    """Fork (instant) in a single-threaded process with no Keras backend loaded, as `bench report` is; else
    spawn, as forking a backend's threads (`bench run` drawing its report) can deadlock the children."""
    alone = threading.active_count() == 1 and not any(name in sys.modules for name in BACKENDS)
    return "fork" if alone and "fork" in multiprocessing.get_all_start_methods() else "spawn"


def draw_all(figures: list[Figure], formats: tuple[str, ...], reuse: Path | None = None) -> None:
    """Draw every figure, except those `reuse` (a report's figures folder) holds from the same inputs; in worker
    processes (one per core) when there are many: drawing is most of a large report's rendering time."""
    for figure in figures:
        figure.key = drawing_key(figure, formats)
    if reuse is not None:
        _reuse(figures, formats, reuse)
    todo = [f for f in figures if not f.images]
    jobs = [(f.draw, f.args, formats) for f in todo]
    workers = min(os.cpu_count() or 1, 8)
    if len(jobs) >= PARALLEL_FROM and workers > 1:
        context = multiprocessing.get_context(_start_method())
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            drawn = list(pool.map(_drawn, jobs, chunksize=max(1, len(jobs) // (4 * workers))))
    else:
        drawn = [_drawn(job) for job in jobs]
    for figure, images in zip(todo, drawn, strict=True):
        figure.images = images


MANIFEST = ".drawn.json"  # in a report's figures folder: figure name -> key of the files beside it
SOURCES = (Path(__file__), Path(__file__).with_name("stats.py"))  # the code that draws


@functools.cache
def _code_version() -> bytes:
    """Besides a figure's arguments, what decides its pixels: the drawing code and the libraries' versions."""
    digest = hashlib.blake2b(digest_size=16)
    for source in SOURCES:
        digest.update(source.read_bytes())
    digest.update(" ".join(m.__version__ for m in (matplotlib, sns, pd, np)).encode())
    return digest.digest()


def drawing_key(figure: Figure, formats: tuple[str, ...]) -> str:
    """A digest of everything a figure's images depend on: two figures with one key look the same."""
    digest = hashlib.blake2b(_code_version(), digest_size=16)
    digest.update(pickle.dumps((figure.draw.__qualname__, figure.args, formats), protocol=5))
    return digest.hexdigest()


def _reuse(figures: list[Figure], formats: tuple[str, ...], folder: Path) -> None:
    """Take the images of each figure whose files `folder` holds under its current key, so re-rendering a
    report (another --metric, a resumed study) draws only the figures whose data changed."""
    try:
        known = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return
    if not isinstance(known, dict):
        return
    for figure in figures:
        if known.get(figure.name) == figure.key:
            try:
                figure.images = {kind: (folder / f"{figure.name}.{kind}").read_bytes() for kind in formats}
            except OSError:
                continue  # a file removed since: drawn again


def write_files(figures: list[Figure], directory: Path) -> None:
    """Every figure in every format drawn, under DIR/figures/, and the key each was drawn from."""
    target = directory / "figures"
    target.mkdir(parents=True, exist_ok=True)
    for figure in figures:
        for kind, image in figure.images.items():
            write_atomically(target / f"{figure.name}.{kind}", image)
    write_atomically(target / MANIFEST, json.dumps({f.name: f.key for f in figures}, indent=0, sort_keys=True))
