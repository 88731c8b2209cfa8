"""Datasets as arrays plus the rule for cutting each seed's test set.

A dataset is loaded once per study. What varies per seed (which samples are
held out for testing, and which of the rest survive a long-tail profile) is
decided in :mod:`bench.splits` from the fields here, so every strategy of a
seed sees the very same test set.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from bench.errors import UserError
from bench.registry import Entry, Registry


@dataclass(frozen=True)
class LongTail:
    """How to thin a balanced pool: n_i = n_max * ratio^(-i/(C-1)) (exp) or a step."""

    ratio: float = 100.0
    profile: str = "exp"
    mu: float = 0.5  # step profile: fraction of classes that are minority

    def counts(self, available: np.ndarray) -> np.ndarray:
        """Samples to keep per class, never fewer than 2 so a stratified split stays possible."""
        n_classes = len(available)
        n_max = int(available.min())
        if self.profile == "exp":
            exponents = np.arange(n_classes) / max(n_classes - 1, 1)
            wanted = n_max * self.ratio ** (-exponents)
        else:
            minority = np.arange(n_classes) >= n_classes - round(self.mu * n_classes)
            wanted = np.where(minority, n_max / self.ratio, n_max)
        return np.maximum(np.floor(wanted).astype(int), 2)


@dataclass(frozen=True)
class Dataset:
    """Features, integer labels and names; `sample_id` is the row index.

    `test_per_class` set: each seed's test set is balanced with that many
    samples per class and cut before `long_tail` thins the rest (the CIFAR-LT
    protocol). Otherwise the test set is a stratified `test_fraction`.
    """

    name: str
    x: np.ndarray
    y: np.ndarray
    class_names: tuple[str, ...]
    test_fraction: float = 0.2
    test_per_class: int | None = None
    long_tail: LongTail | None = None

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x.shape[1:])


def _digits(name: str, ratio: float, profile: str, mu: float, test_per_class: int) -> Dataset:
    from sklearn.datasets import load_digits

    if ratio < 1:
        raise UserError(f"{name}: ratio must be at least 1, got {ratio}")
    if profile not in ("exp", "step"):
        raise UserError(f"{name}: profile must be exp or step, got '{profile}'")
    if not 0 < mu < 1:
        raise UserError(f"{name}: mu must be between 0 and 1, got {mu}")
    digits = load_digits()
    smallest = int(np.bincount(digits.target).min())
    if not 1 <= test_per_class <= smallest - 2:
        raise UserError(f"digits-lt: test_per_class must be between 1 and {smallest - 2}, got {test_per_class}")
    return Dataset(
        name=name,
        x=(digits.data / 16.0).astype("float32"),
        y=digits.target.astype("int64"),
        class_names=tuple(str(c) for c in digits.target_names),
        test_per_class=test_per_class,
        long_tail=LongTail(ratio=ratio, profile=profile, mu=mu),
    )


DATASETS: Registry[Dataset] = Registry("dataset")
DATASETS.add(
    Entry(
        name="digits-lt",
        description="scikit-learn's 8x8 digits as 64-pixel vectors, long-tailed after a balanced test cut",
        factory=functools.partial(_digits, "digits-lt"),
        params={"ratio": 100.0, "profile": "exp", "mu": 0.5, "test_per_class": 30},
        reference="Cao et al. 2019 (CIFAR-10-LT protocol)",
    )
)
DATASETS.add(
    Entry(
        name="digits-step",
        description="scikit-learn's digits with step imbalance: a fraction mu of classes has 1/ratio of the samples",
        factory=functools.partial(_digits, "digits-step"),
        params={"ratio": 10.0, "profile": "step", "mu": 0.5, "test_per_class": 30},
        reference="Buda et al. 2018, A systematic study of the class imbalance problem in CNNs",
    )
)
