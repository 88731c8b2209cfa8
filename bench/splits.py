"""Index splits: each seed's test hold-out, then the strategy's train/validation cut.

Everything here returns row indices, never copies of the data, so the protocol
can be tested directly: test indices are a function of (dataset, seed) alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import train_test_split

from bench.datasets import Dataset
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
        pool, test = _stratified(np.arange(len(dataset.y)), dataset.y, dataset.test_fraction, seed)
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


def _stratified(indices: np.ndarray, y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    counts = np.bincount(y[indices], minlength=int(y.max()) + 1)
    too_small = [str(c) for c, n in enumerate(counts) if 0 < n < 2]
    if too_small:
        raise UserError(
            f"class(es) {', '.join(too_small)} have a single sample, too few for a stratified "
            "split; add samples or drop the class"
        )
    kept, cut = train_test_split(indices, test_size=fraction, stratify=y[indices], random_state=seed)
    return kept, cut


def make_fold(dataset: Dataset, seed: int, stratified: bool, val_fraction: float) -> Fold:
    """The seed's fold: shared test set, then a random or stratified train/val cut.

    The random cut uses the same seed for every strategy that asks for it, so
    `baseline` and e.g. `class-weight` train on the same samples and differ only
    in what the strategy changes.
    """
    test, pool = holdout(dataset, seed)
    if stratified:
        train, val = _stratified(pool, dataset.y, val_fraction, seed)
    else:
        train, val = train_test_split(pool, test_size=val_fraction, random_state=seed)
    return Fold(seed=seed, train=np.sort(train), val=np.sort(val), test=test)
