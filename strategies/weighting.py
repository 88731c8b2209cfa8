"""Re-weighting the loss per class, with weights from the training fold only."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from sklearn.utils.class_weight import compute_class_weight

from strategies.base import StrategyPart


def tempered_balanced_weights(y_train: np.ndarray, exponent: float) -> dict[int, float]:
    """scikit-learn's 'balanced' weights raised to `exponent`, renormalised.

    exponent 1 is inverse frequency, 0.5 its square root, 0 no weighting. The
    renormalisation keeps the count-weighted mean weight at 1 so the effective
    learning rate does not change with the exponent (scikit-learn has no knob
    for tempering, hence the few lines here).
    """
    classes = np.unique(y_train)
    balanced = compute_class_weight("balanced", classes=classes, y=y_train)
    tempered = balanced**exponent
    counts = np.array([(y_train == c).sum() for c in classes])
    tempered = tempered * counts.sum() / (counts * tempered).sum()
    return {int(c): float(w) for c, w in zip(classes, tempered, strict=True)}


class ClassWeight(StrategyPart):
    """Weight each class's loss by its (tempered) inverse frequency in the training fold."""

    hooks: ClassVar[frozenset[str]] = frozenset({"weights"})
    prefix: ClassVar[str] = "class_weight"

    def class_weight(self, hp: Any, y_train: np.ndarray) -> dict[int, float]:
        return tempered_balanced_weights(y_train, float(self.value(hp, "exponent")))


def effective_number_weights(y_train: np.ndarray, beta: float) -> dict[int, float]:
    """Cui et al. 2019: w_c proportional to (1 - beta) / (1 - beta ** n_c), summing to the number of classes.

    No library ships these weights for Keras, hence the formula here.
    """
    classes = np.unique(y_train)
    counts = np.array([(y_train == c).sum() for c in classes], dtype=float)
    weights = (1.0 - beta) / (1.0 - np.power(beta, counts))
    weights = weights * len(classes) / weights.sum()
    return {int(c): float(w) for c, w in zip(classes, weights, strict=True)}


class EffectiveNumber(StrategyPart):
    """Class-balanced re-weighting by the effective number of samples; composes with focal."""

    hooks: ClassVar[frozenset[str]] = frozenset({"weights"})
    prefix: ClassVar[str] = "effective_number"

    def class_weight(self, hp: Any, y_train: np.ndarray) -> dict[int, float]:
        return effective_number_weights(y_train, float(self.value(hp, "beta")))
