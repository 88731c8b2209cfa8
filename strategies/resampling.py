"""Resampling the training fold per epoch, as indices: the data is never copied."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from imblearn.over_sampling import RandomOverSampler

from strategies.base import Sampler, StrategyPart


def oversampling_plan(y_train: np.ndarray, target: float) -> dict[int, int]:
    """Per-class sample counts after oversampling: at least `target` x the largest class."""
    counts = np.bincount(y_train)
    goal = np.maximum(counts, np.ceil(target * counts.max()).astype(int))
    return {int(c): int(g) for c, g in enumerate(goal) if counts[c] > 0}


class Oversample(StrategyPart):
    """Random oversampling of minority classes in the training fold, redrawn each epoch.

    imbalanced-learn's RandomOverSampler picks the duplicates; it is run on the
    row indices rather than the features, so an epoch is a list of indices
    into the one copy of the training data.
    """

    hooks: ClassVar[frozenset[str]] = frozenset({"data"})
    prefix: ClassVar[str] = "oversample"

    def sampler(self, hp: Any, y_train: np.ndarray) -> Sampler:
        plan = oversampling_plan(y_train, float(self.value(hp, "target")))
        rows = np.arange(len(y_train)).reshape(-1, 1)

        def draw(rng: np.random.Generator) -> np.ndarray:
            sampler = RandomOverSampler(sampling_strategy=plan, random_state=int(rng.integers(2**31)))
            chosen, _ = sampler.fit_resample(rows, y_train)
            return rng.permutation(chosen.ravel())

        return draw
