"""Index splits: each seed's test hold-out, then the strategy's train/validation cut.

Everything here returns row indices, never copies of the data, so the protocol
can be tested directly: test indices are a function of (dataset, seed) alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import train_test_split

from bench.data.dataset import Dataset
from bench.errors import UserError


@dataclass(frozen=True)
class Fold:
    """Indices into the dataset for one seed; `test` is shared by all strategies."""

    seed: int
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def holdout(dataset: Dataset, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(test, pool) indices for a seed; strategies never influence this cut.

    A stratified hold-out (user data) holds every class and leaves the pool two
    of each class that has three or more, so the validation cut can hold it too.
    """
    rng = np.random.default_rng(seed)
    if dataset.test_rows is not None:
        test = dataset.test_rows
        pool = np.setdiff1d(np.arange(len(dataset.y)), test)
    elif dataset.test_per_class is None:
        counts = np.bincount(dataset.y, minlength=dataset.num_classes)
        if single := [dataset.class_names[c] for c, n in enumerate(counts) if n == 1]:
            raise UserError(
                f"{dataset.name}: class '{single[0]}' has a single sample; every class needs at least 2 (one to test "
                "on, one to train on) and 3 to be in validation too; add samples of that class or remove it"
            )
        pool, test = _stratified(dataset, np.arange(len(dataset.y)), dataset.test_fraction, seed, "test hold-out")
        pool, test = cover_every_class(pool, test, dataset.y, rng, kept_minimum=2)
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
    """(kept, held): a stratified cut of the classes with two or more rows; a class's only row is kept.

    Data too small for the cut is refused with the fix.
    """
    single = np.bincount(dataset.y[indices], minlength=dataset.num_classes)[dataset.y[indices]] == 1
    rest = indices[~single]
    try:
        kept, held = train_test_split(rest, test_size=fraction, stratify=dataset.y[rest], random_state=seed)
    except ValueError as exc:  # e.g. fewer held-out rows than classes
        raise UserError(f"{dataset.name}: too few samples for the stratified {cut} ({exc}); add samples") from None
    return np.concatenate([kept, indices[single]]), held


def cover_every_class(
    kept: np.ndarray, held: np.ndarray, y: np.ndarray, rng: np.random.Generator, kept_minimum: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Move the fewest rows so that `held` has a row of every class with two or more, and `kept` has the rest.

    A score cannot judge a class its fold never sees (a random 20% validation
    cut of digits-lt[ratio=100] misses a class in most seeds, a stratified one
    puts neither row of a 2-row class in validation), and a model cannot learn
    a class it never trains on. So each class of n rows gets at least one
    held row when n >= 2 and at least min(kept_minimum, n - 1) kept rows (its
    only row when n == 1). Each row moved to make up a shortfall is paired
    with one moved back from the class furthest above (or below) its share of
    the held side, so `held` keeps its size wherever the data allows. Rows are
    drawn with `rng` from sorted indices: the same inputs and seed give the
    same cut, and no draw is made when nothing is short.
    """
    kept, held = np.sort(kept), np.sort(held)
    n_classes = int(y.max()) + 1
    total = np.bincount(y[np.concatenate([kept, held])], minlength=n_classes)
    held_min = (total >= 2).astype(int)
    kept_min = np.where(total >= 2, np.minimum(kept_minimum, total - 1), total)
    size = len(held)
    share = total * size / max(total.sum(), 1)

    def move(source: np.ndarray, target: np.ndarray, label: int) -> tuple[np.ndarray, np.ndarray]:
        row = rng.choice(source[y[source] == label])
        return source[source != row], np.sort(np.append(target, row))

    def counts(indices: np.ndarray) -> np.ndarray:
        return np.bincount(y[indices], minlength=n_classes)

    for label in range(n_classes):
        for _ in range(kept_min[label] - counts(kept)[label]):
            held, kept = move(held, kept, label)
        for _ in range(held_min[label] - counts(held)[label]):
            kept, held = move(kept, held, label)
    while len(held) > size and np.any(spare := counts(held) > held_min):
        excess = np.where(spare, counts(held) - share, -np.inf)
        held, kept = move(held, kept, int(np.argmax(excess)))
    while len(held) < size and np.any(spare := counts(kept) > kept_min):
        shortfall = np.where(spare, share - counts(held), -np.inf)
        kept, held = move(kept, held, int(np.argmax(shortfall)))
    return kept, held


def make_fold(dataset: Dataset, seed: int, stratified: bool, val_fraction: float) -> Fold:
    """The seed's fold: shared test set, then a random or stratified train/val cut.

    The cut uses the same seed for every strategy that asks for its kind, so
    `baseline` and e.g. `class-weight` train on the same samples and differ only
    in what the strategy changes. Either kind is then made to hold every class
    the pool allows (`cover_every_class`).
    """
    test, pool = holdout(dataset, seed)
    if stratified:
        train, val = _stratified(dataset, pool, val_fraction, seed, "train/validation split")
    else:
        train, val = train_test_split(pool, test_size=val_fraction, random_state=seed)
    train, val = cover_every_class(train, val, dataset.y, np.random.default_rng(seed))
    return Fold(seed=seed, train=train, val=val, test=test)
