"""Index splits: each seed's test hold-out, then the strategy's train/validation cut.

Everything here returns row indices, never copies of the data, so the protocol
can be tested directly: test indices are a function of (dataset, seed) alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import train_test_split

from bench.data import Dataset
from bench.errors import UserError


@dataclass(frozen=True)
class Fold:
    """Indices into the dataset for one seed; `test` is shared by all strategies."""

    seed: int
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def holdout(dataset: Dataset, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(test, pool) indices for a seed; strategies never influence this cut."""
    rng = np.random.default_rng(seed)
    if dataset.test_per_class is None:
        pool, test = _stratified(dataset, np.arange(len(dataset.y)), dataset.test_fraction, seed, "test hold-out")
    else:
        test_parts, pool_parts = [], []
        for label in range(dataset.num_classes):
            members = rng.permutation(np.flatnonzero(dataset.y == label))
            test_parts.append(members[: dataset.test_per_class])
            pool_parts.append(members[dataset.test_per_class :])
        test, pool = np.concatenate(test_parts), np.concatenate(pool_parts)
    if dataset.long_tail is not None:
        pool = _thin(pool, dataset.y, dataset.long_tail.counts(np.bincount(dataset.y[pool])), rng)
    return np.sort(test), np.sort(pool)


def _thin(pool: np.ndarray, y: np.ndarray, keep: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    parts = [rng.permutation(pool[y[pool] == label])[:count] for label, count in enumerate(keep)]
    return np.concatenate(parts)


def _stratified(
    dataset: Dataset, indices: np.ndarray, fraction: float, seed: int, cut: str
) -> tuple[np.ndarray, np.ndarray]:
    """A stratified cut; data too small for one is refused with the class and the fix."""
    y = dataset.y[indices]
    counts = np.bincount(y, minlength=dataset.num_classes)
    single = [dataset.class_names[c] for c, n in enumerate(counts) if n == 1]
    if single:
        raise UserError(
            f"{dataset.name}: class '{single[0]}' has a single sample left for the stratified {cut}, which needs "
            "at least 2 per class; add samples of that class or remove it"
        )
    try:
        kept, held = train_test_split(indices, test_size=fraction, stratify=y, random_state=seed)
    except ValueError as exc:  # e.g. fewer held-out rows than classes
        raise UserError(f"{dataset.name}: too few samples for the stratified {cut} ({exc}); add samples") from None
    return kept, held


def make_fold(dataset: Dataset, seed: int, stratified: bool, val_fraction: float) -> Fold:
    """The seed's fold: shared test set, then a random or stratified train/val cut.

    The random cut uses the same seed for every strategy that asks for it, so
    `baseline` and e.g. `class-weight` train on the same samples and differ only
    in what the strategy changes.
    """
    test, pool = holdout(dataset, seed)
    if stratified:
        train, val = _stratified(dataset, pool, val_fraction, seed, "train/validation split")
    else:
        train, val = train_test_split(pool, test_size=val_fraction, random_state=seed)
    return Fold(seed=seed, train=np.sort(train), val=np.sort(val), test=test)
