"""Seaborn figures for the report; each reads the tidy frames only and draws one question.

One colour per strategy across every figure (the colour-blind palette, in
study order), so a reader can follow a strategy from plot to plot.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from bench.storage.files import write_atomically  # noqa: E402
from reports.stats import mean_ranks, nemenyi_critical_difference  # noqa: E402

Palette = dict[str, tuple[float, float, float]]


@dataclass(frozen=True)
class Figure:
    name: str
    title: str
    caption: str
    png: bytes

    @property
    def file(self) -> str:
        return f"figures/{self.name}.png"


def strategy_palette(strategies: list[str]) -> Palette:
    colours = sns.color_palette("colorblind", n_colors=max(len(strategies), 1))
    return dict(zip(strategies, colours, strict=False))


def render(draw: Callable[[], plt.Figure]) -> bytes:
    with sns.axes_style("whitegrid"), sns.plotting_context("notebook", font_scale=0.9):
        figure = draw()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


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
            annot=len(class_names) <= 12,
            fmt=".2f",
            annot_kws={"size": 8},
            cbar=ax is axes[-1],
            xticklabels=class_names,
            yticklabels=strategies if ax is axes[0] else False,
        )
        ax.set(title=f"per-class {metric}", xlabel="class", ylabel="")
    return figure


def confusions(matrices: dict[str, np.ndarray], class_names: list[str]) -> plt.Figure:
    """Row-normalised confusion matrices pooled over seeds, one panel per strategy.

    Drawn with imshow rather than sns.heatmap: same picture, a fraction of the time
    for many panels of many classes.
    """
    columns = min(3, len(matrices))
    rows = -(-len(matrices) // columns)
    size = 2.4 + 0.3 * len(class_names)
    figure, axes = plt.subplots(rows, columns, figsize=(size * columns, size * rows), squeeze=False)
    ticks = np.arange(len(class_names))
    for ax, (strategy, counts) in zip(axes.flat, matrices.items(), strict=False):
        totals = counts.sum(axis=1, keepdims=True)
        normalised = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)
        ax.imshow(normalised, vmin=0, vmax=1, cmap="Blues")
        ax.grid(False)
        ax.set(title=strategy, xlabel="predicted", ylabel="true", xticks=ticks, yticks=ticks)
        ax.set_xticklabels(class_names, rotation=90)
        ax.set_yticklabels(class_names)
        if len(class_names) <= 6:
            for (i, j), value in np.ndenumerate(normalised):
                ax.text(j, i, f"{value:.2f}", ha="center", va="center", color="white" if value > 0.5 else "black")
    for ax in axes.flat[len(matrices) :]:
        ax.axis("off")
    figure.tight_layout()
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


def critical_difference(scores_by_dataset: pd.DataFrame, palette: Palette) -> plt.Figure:
    """Demšar's critical-difference diagram: mean ranks on an axis, the Nemenyi CD, and bars
    joining strategies whose mean ranks differ by less than CD (not significantly different)."""
    ranks = mean_ranks(scores_by_dataset)
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


def write_pngs(figures: list[Figure], directory: Path) -> None:
    target = directory / "figures"
    target.mkdir(parents=True, exist_ok=True)
    for figure in figures:
        write_atomically(target / f"{figure.name}.png", figure.png)
