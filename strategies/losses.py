"""Strategies that replace the training loss (always on logits)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from strategies.base import StrategyPart


class Focal(StrategyPart):
    """Focal loss (Lin et al. 2017) via keras.losses.CategoricalFocalCrossentropy.

    Keras applies `alpha` as one scalar to every class, so here it acts as a
    loss scale that interacts with the learning rate, not as a class weight.
    """

    hooks: ClassVar[frozenset[str]] = frozenset({"loss"})
    prefix: ClassVar[str] = "focal"

    def loss(self, hp: Any, y_train: np.ndarray) -> Any:
        import keras

        return keras.losses.CategoricalFocalCrossentropy(
            alpha=float(self.value(hp, "alpha")),
            gamma=float(self.value(hp, "gamma")),
            from_logits=True,
        )
