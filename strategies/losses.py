"""Strategies that replace the training loss (always on logits)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from strategies.base import StrategyPart, log_prior
from strategies.weighting import effective_number_weights


class Focal(StrategyPart):
    """Focal loss (Lin et al. 2017) via keras.losses.CategoricalFocalCrossentropy.

    Keras applies `alpha` as one scalar to every class, so here it acts as a
    loss scale that interacts with the learning rate, not as a class weight.
    """

    hooks: ClassVar[frozenset[str]] = frozenset({"loss"})
    prefix: ClassVar[str] = "focal"

    def loss(self, hp: Any, y_train: np.ndarray, num_classes: int) -> Any:
        import keras

        return keras.losses.CategoricalFocalCrossentropy(
            alpha=float(self.value(hp, "alpha")),
            gamma=float(self.value(hp, "gamma")),
            from_logits=True,
        )


class LogitAdjusted(StrategyPart):
    """Logit-adjusted cross-entropy (Menon et al. 2021), tau tunable; Balanced Softmax fixes tau = 1."""

    hooks: ClassVar[frozenset[str]] = frozenset({"loss"})
    prefix: ClassVar[str] = "logit_adjusted"

    def loss(self, hp: Any, y_train: np.ndarray, num_classes: int) -> Any:
        from strategies.keras_losses import LogitAdjustedLoss

        return LogitAdjustedLoss(log_prior(y_train, num_classes), float(self.value(hp, "tau")))


class BalancedSoftmax(LogitAdjusted):
    """Balanced Softmax (Ren et al. 2020): logit adjustment with tau = 1, nothing to tune."""

    def __init__(self) -> None:
        super().__init__(tau=1.0)


class LDAMDeferredReweighting(StrategyPart):
    """LDAM loss (Cao et al. 2019) plus deferred re-weighting (DRW) with effective-number weights.

    Claims both the loss and the weights, since DRW is its own class weighting.
    """

    hooks: ClassVar[frozenset[str]] = frozenset({"loss", "weights"})
    prefix: ClassVar[str] = "ldam"

    def loss(self, hp: Any, y_train: np.ndarray, num_classes: int) -> Any:
        from strategies.keras_losses import LDAMLoss

        counts = np.bincount(y_train, minlength=num_classes)
        return LDAMLoss(counts, float(self.value(hp, "max_margin")), float(self.value(hp, "scale")))

    def callbacks(self, hp: Any, y_train: np.ndarray, num_classes: int) -> list[Any]:
        from strategies.keras_losses import DeferredReweighting

        vector = np.ones(num_classes)
        for label, weight in effective_number_weights(y_train, 0.9999).items():
            vector[label] = weight
        return [DeferredReweighting(vector, float(self.value(hp, "drw_start")))]
