"""Seaborn figures for the report; each reads the tidy frames only and draws one question.

One colour per strategy across every figure (the colour-blind palette, in
study order), so a reader can follow a strategy from plot to plot.
"""

from __future__ import annotations

import base64
import io
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

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


def scores(results: pd.DataFrame, palette: Palette) -> plt.Figure:
    """Test macro-F1 and macro-recall of every seed, with the mean as a diamond."""
    long = results.melt(id_vars=["strategy", "seed"], value_vars=["macro_f1", "macro_recall"], var_name="metric")
    grid = sns.catplot(
        long,
        x="value",
        y="strategy",
        col="metric",
        hue="strategy",
        palette=palette,
        kind="strip",
        height=0.45 * len(palette) + 1.5,
        aspect=1.3,
        legend=False,
        size=6,
        alpha=0.7,
    )
    for ax, metric in zip(grid.axes.flat, ["macro_f1", "macro_recall"], strict=True):
        means = long[long.metric == metric].groupby("strategy", sort=False)["value"].mean()
        ax.scatter(means.to_numpy(), means.index, marker="D", s=60, color="black", zorder=3, label="mean")
        ax.set_xlabel(metric.replace("_", "-"))
    grid.set_titles("")
    return grid.figure


def heatmaps(per_class: pd.DataFrame, strategies: list[str], class_names: list[str]) -> plt.Figure:
    """Mean per-class recall and F1 over seeds (rows strategies, columns classes)."""
    figure, axes = plt.subplots(1, 2, figsize=(3 + 1.2 * len(class_names), 0.5 * len(strategies) + 1.6))
    for ax, metric in zip(axes, ["recall", "f1"], strict=True):
        table = (
            per_class[per_class.metric == metric]
            .pivot_table(index="strategy", columns="class_index", values="value", aggfunc="mean")
            .reindex(index=strategies, columns=range(len(class_names)))
        )
        sns.heatmap(
            table,
            ax=ax,
            vmin=0,
            vmax=1,
            cmap="viridis",
            annot=len(class_names) * len(strategies) <= 120,  # each number is text to lay out and draw
            fmt=".2f",
            annot_kws={"size": 8},
            cbar=ax is axes[-1],
            xticklabels=class_names,
            yticklabels=strategies if ax is axes[0] else False,
        )
        ax.set(title=f"per-class {metric}", xlabel="class", ylabel="")
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
    top-label confidence (dot size = samples), the diagonal where they agree, ECE in the title."""
    columns = min(4, len(bins))
    rows = -(-len(bins) // columns)
    figure, axes = plt.subplots(
        rows, columns, figsize=(2.6 * columns, 2.6 * rows), squeeze=False, sharex=True, sharey=True
    )
    for ax, (strategy, (counts, confidence, correct)) in zip(axes.flat, bins.items(), strict=False):
        used = counts > 0
        mean_confidence, accuracy = confidence[used] / counts[used], correct[used] / counts[used]
        ax.plot([0, 1], [0, 1], color="grey", lw=1, ls="--")
        colour = palette.get(strategy, "grey")
        ax.plot(mean_confidence, accuracy, color=colour, lw=1.2)
        ax.scatter(mean_confidence, accuracy, s=8 + 120 * counts[used] / counts.sum(), color=colour, zorder=3)
        ax.set(title=f"{strategy}\nECE {eces.get(strategy, float('nan')):.3f}", xlim=(0, 1), ylim=(0, 1))
    for index, ax in enumerate(axes.flat):
        if index >= len(bins):
            ax.axis("off")
        elif index + columns >= len(bins):  # the lowest panel of its column
            ax.xaxis.set_tick_params(labelbottom=True)
            ax.set_xlabel("confidence")
    for ax in axes[:, 0]:
        ax.set_ylabel("accuracy")
    for ax in axes.flat:
        ax.set(xticks=[0, 0.5, 1], yticks=[0, 0.5, 1])
    figure.subplots_adjust(wspace=0.25, hspace=0.5)  # fixed spacing: tight_layout measured every label of every panel
    return figure


def class_groups(frame: pd.DataFrame, palette: Palette) -> plt.Figure:
    """Macro-F1 and macro-recall of the head, medium and tail classes per strategy (means over seeds)."""
    figure, axes = plt.subplots(1, 2, figsize=(10, 3.4), sharey=True)
    for ax, metric in zip(axes, ["macro-F1", "macro-recall"], strict=True):
        mine = frame[frame.metric == metric]
        sns.barplot(
            mine, x="group", y="value", hue="strategy", palette=palette, ax=ax, legend=ax is axes[-1], errorbar=None
        )
        ax.set(title=metric, xlabel="classes by training-pool count", ylabel="mean over seeds", ylim=(0, 1))
    axes[-1].legend(loc="upper left", bbox_to_anchor=(1.02, 1), fontsize="small", frameon=False)
    return figure


def class_counts(counts: pd.DataFrame) -> plt.Figure:
    """Samples per class in train / validation / test, as trained."""
    figure, ax = plt.subplots(figsize=(2 + 0.6 * counts["class"].nunique(), 3.2))
    sns.barplot(counts, x="class", y="count", hue="split", ax=ax, palette="colorblind")
    ax.set(ylabel="samples", xlabel="class")
    return figure


def curves(histories: pd.DataFrame, palette: Palette) -> plt.Figure:
    """Training loss and validation macro-F1 per epoch: mean over seeds with a ±1 std band."""
    figure, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, column in zip(axes, ["loss", "val_macro_f1"], strict=True):
        sns.lineplot(
            histories, x="epoch", y=column, hue="strategy", palette=palette, errorbar="sd", ax=ax, legend=ax is axes[-1]
        )
        ax.set(ylabel=column.replace("_", " "))
    axes[-1].legend(loc="upper left", bbox_to_anchor=(1.02, 1), fontsize="small", frameon=False)
    return figure


def trials(frame: pd.DataFrame, palette: Palette) -> plt.Figure:
    """Validation macro-F1 of every tuning trial, per strategy."""
    figure, ax = plt.subplots(figsize=(7, 0.45 * frame.strategy.nunique() + 1.5))
    sns.stripplot(
        frame,
        x="objective",
        y="strategy",
        hue="strategy",
        palette=palette,
        order=list(palette),
        hue_order=list(palette),
        ax=ax,
        size=6,
        legend=False,
    )
    ax.set(xlabel="best validation macro-F1 of the trial", ylabel="")
    return figure


def cost(frame: pd.DataFrame, palette: Palette) -> plt.Figure:
    """Wall time (tuning and final runs) and training samples seen per epoch."""
    figure, axes = plt.subplots(1, 2, figsize=(10, 0.45 * len(frame) + 1.8), sharey=True)
    phases = frame.rename(columns={"tuning_s": "tuning", "final_s": "final runs"})
    long = phases.melt(id_vars="strategy", value_vars=["tuning", "final runs"], var_name="phase", value_name="seconds")
    sns.barplot(long, x="seconds", y="strategy", hue="phase", ax=axes[0], palette="colorblind")
    sns.move_legend(axes[0], "lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, title=None, frameon=False)
    sns.barplot(frame, x="samples_per_epoch", y="strategy", hue="strategy", palette=palette, ax=axes[1], legend=False)
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


def draw_all(figures: list[Figure], formats: tuple[str, ...]) -> None:
    """Draw every figure, in worker processes (one per core) when there are many: drawing is most of a large
    report's rendering time, and each figure is independent. Spawned, as the caller may hold a Keras backend."""
    jobs = [(f.draw, f.args, formats) for f in figures]
    workers = min(os.cpu_count() or 1, 8)
    if len(jobs) >= PARALLEL_FROM and workers > 1:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            drawn = list(pool.map(_drawn, jobs, chunksize=max(1, len(jobs) // (4 * workers))))
    else:
        drawn = [_drawn(job) for job in jobs]
    for figure, images in zip(figures, drawn, strict=True):
        figure.images = images


def write_files(figures: list[Figure], directory: Path) -> None:
    """Every figure in every format drawn, under DIR/figures/."""
    target = directory / "figures"
    target.mkdir(parents=True, exist_ok=True)
    for figure in figures:
        for kind, image in figure.images.items():
            write_atomically(target / f"{figure.name}.{kind}", image)
