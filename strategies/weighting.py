"""Re-weighting the loss per class, with weights from the training fold only."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils.class_weight import compute_class_weight

from bench.registry import Bounds, Parameter, Tunable
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


def deferred_start(fraction: float, epochs: int) -> int:
    """The first weighted epoch when weights switch on after `fraction` of the epoch budget (Cao et al. 2019)."""
    return round(fraction * epochs)


# A fraction of the epoch budget; 1 would never start.
DEFERRED = Parameter(0.0, Bounds(0.0, 1.0, high_inclusive=False))
_DEFERRED_TEXT = (
    "deferred=f switches the weights on after a fraction f of the epoch budget (deferred re-weighting, Cao et al. 2019)"
)


class DeferrableWeights(StrategyPart):
    """Class weights that switch on after the `deferred` fraction of the epoch budget (0: from the start).

    Cao et al. 2019 find that weights applied after a first stage of plain
    training (deferred re-weighting) learn better features than weights from
    the first epoch; `[deferred=0.8]` gives their schedule.
    """

    def weights_start(self, hp: Any, epochs: int) -> int:
        return deferred_start(float(self.value(hp, "deferred")), epochs)


class ClassWeight(DeferrableWeights):
    """Weight each class's loss by its (tempered) inverse frequency in the training fold."""

    name = "class-weight"
    description = f"loss weighted by tempered inverse class frequency of the training fold; {_DEFERRED_TEXT}"
    reference = "King & Zeng 2001; scikit-learn compute_class_weight('balanced'); applied as Keras's class_weight="
    version = 2  # 2: the loss is sum(w*l)/B as with Keras's class_weight=, not renormalised per batch
    corrects_prior = True
    parameters = {
        "exponent": Parameter(Tunable((0.5, 0.75, 1.0)), Bounds(0.0, 2.0)),
        "deferred": DEFERRED,
    }

    def class_weight(self, hp: Any, y_train: np.ndarray) -> dict[int, float]:
        return tempered_balanced_weights(y_train, float(self.value(hp, "exponent")))


def effective_number_weights(y_train: np.ndarray, beta: float) -> dict[int, float]:
    """Cui et al. 2019: w_c proportional to (1 - beta) / (1 - beta ** n_c), summing to the number of classes.

    No library ships these weights for Keras, hence the formula here. Only
    their ratios matter: the harness scales them to average 1 over the
    training fold (Strategy.class_weights), where LDAM-DRW keeps them as they are.
    """
    classes = np.unique(y_train)
    counts = np.array([(y_train == c).sum() for c in classes], dtype=float)
    weights = (1.0 - beta) / (1.0 - np.power(beta, counts))
    weights = weights * len(classes) / weights.sum()
    return {int(c): float(w) for c, w in zip(classes, weights, strict=True)}


class EffectiveNumber(DeferrableWeights):
    """Class-balanced re-weighting by the effective number of samples; composes with focal."""

    name = "effective-number"
    description = f"class weights from the effective number of samples (+focal: class-balanced focal); {_DEFERRED_TEXT}"
    reference = "Cui et al. 2019, Class-Balanced Loss Based on Effective Number of Samples"
    version = 2  # 2: the loss is sum(w*l)/B as in Cui et al.'s code and Keras's class_weight=
    corrects_prior = True
    parameters = {
        "beta": Parameter(Tunable((0.9, 0.99, 0.999, 0.9999)), Bounds(0.0, 1.0, high_inclusive=False)),  # 1: 0/0
        "deferred": DEFERRED,
    }

    def class_weight(self, hp: Any, y_train: np.ndarray) -> dict[int, float]:
        return effective_number_weights(y_train, float(self.value(hp, "beta")))
