"""A dataset as arrays, and the checks every source shares.

Sources (digits, image folders, CSV, npz, synthetic) differ in how they read
data; what they hand over is the same :class:`Dataset`, validated here in one
place so that every source refuses the same bad input with the same words.
What varies per seed (the test hold-out, a long-tail profile) is decided in
:mod:`bench.data.splits` from the fields here, so every strategy of a seed sees the
very same test set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.errors import UserError
from bench.registry import Bounds

PROFILES = ("exp", "step", "linear")
# The imbalance parameters every source takes, as the registry checks them: ratio 1 keeps the data as it is.
IMBALANCE = {"ratio": 1.0, "profile": "exp", "mu": 0.5}
IMBALANCE_BOUNDS = {"ratio": Bounds(1.0), "mu": Bounds(0.0, 1.0, low_inclusive=False, high_inclusive=False)}
IMBALANCE_OPTIONS = {"profile": PROFILES}


@dataclass(frozen=True)
class LongTail:
    """How to thin a balanced pool: n_i = n_max * ratio^(-i/(C-1)) (exp), n_max * (1 - (1 - 1/ratio) * i/(C-1))
    (linear), or a step (a fraction mu of the classes at n_max / ratio)."""

    ratio: float = 100.0
    profile: str = "exp"
    mu: float = 0.5  # step profile: fraction of classes that are minority

    def counts(self, available: np.ndarray) -> np.ndarray:
        """Samples to keep per class, never fewer than 2 so a stratified split stays possible."""
        return np.maximum(np.floor(self.sizes(len(available), int(available.min()))).astype(int), 2)

    def sizes(self, n_classes: int, n_max: float) -> np.ndarray:
        """Each class's size when the largest (class 0, the head) has n_max samples."""
        steps = max(n_classes - 1, 1)
        if self.profile == "exp":
            return n_max * self.ratio ** (-(np.arange(n_classes) / steps))
        if self.profile == "linear":  # one division last, so whole sizes stay whole (30, not 29.999...)
            return n_max * (self.ratio * steps - (self.ratio - 1) * np.arange(n_classes)) / (self.ratio * steps)
        minority = np.arange(n_classes) >= n_classes - round(self.mu * n_classes)
        return np.where(minority, n_max / self.ratio, n_max)


def long_tail(ratio: float, profile: str, mu: float) -> LongTail | None:
    """The profile of a spec's imbalance parameters (checked against IMBALANCE_BOUNDS and PROFILES by the
    registry); ratio 1 keeps the data's own counts."""
    return LongTail(ratio=ratio, profile=profile, mu=mu) if ratio > 1 else None


@dataclass(frozen=True)
class Dataset:
    """Features, integer labels and names; `sample_id` is the row index.

    `test_rows` set: those rows (a dataset's official test split) are every
    seed's test set, and `long_tail` thins the rest (the CIFAR-LT protocol).
    `test_per_class` set: each seed's test set is balanced with that many
    samples per class and cut before `long_tail` thins the rest (the same
    protocol on data without a test split). Otherwise the test set is a
    stratified `test_fraction`.
    `standardize` marks feature columns (of 2-D data) whose missing values are
    imputed and which are standardised with statistics of each training fold.
    """

    name: str
    x: np.ndarray
    y: np.ndarray
    class_names: tuple[str, ...]
    test_fraction: float = 0.2
    test_per_class: int | None = None
    test_rows: np.ndarray | None = None
    long_tail: LongTail | None = None
    standardize: tuple[int, ...] = ()

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x.shape[1:])


def labelled(
    name: str,
    x: np.ndarray,
    labels: np.ndarray,
    tail: LongTail | None = None,
    standardize: tuple[int, ...] = (),
) -> Dataset:
    """A Dataset from features and labels of any kind (names or numbers), after the shared checks.

    Class order is sorted label order, so the same data always gives the same class indices.
    """
    if len(x) != len(labels):
        raise UserError(f"{name}: {len(x)} feature rows but {len(labels)} labels; give one label per row")
    names, y = np.unique(np.asarray(labels), return_inverse=True)
    classes = tuple(str(n) for n in names)
    return checked(Dataset(name, x, y.astype("int64"), classes, long_tail=tail, standardize=standardize))


def checked(dataset: Dataset) -> Dataset:
    """Refuse data no study can use: fewer than two classes."""
    if dataset.num_classes < 2:
        found = f"only class '{dataset.class_names[0]}'" if dataset.num_classes else "no samples"
        raise UserError(f"{dataset.name}: found {found}; a classifier needs at least 2 classes")
    return dataset


def require_finite(owner: str, x: np.ndarray, allow_nan: tuple[int, ...] = ()) -> None:
    """Refuse empty data and NaN or infinite features (except NaN in `allow_nan` columns, imputed per fold later)."""
    if len(x) == 0:
        raise UserError(f"{owner}: no rows of data (after dropping missing values, if asked to); nothing to learn from")
    bad = ~np.isfinite(x.reshape(len(x), -1))
    if allow_nan:
        bad[:, list(allow_nan)] &= ~np.isnan(x[:, list(allow_nan)])
    if bad.any():
        rows = np.flatnonzero(bad.any(axis=1))
        raise UserError(
            f"{owner}: {len(rows)} row(s) have NaN or infinite features (first: row {rows[0]}); "
            "clean or drop them before benchmarking"
        )
