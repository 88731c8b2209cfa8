"""Strategies that replace the training loss (always on logits)."""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.registry import Bounds, Parameter, Tunable
from strategies.base import NotApplicable, StrategyPart, log_prior
from strategies.weighting import deferred_start, effective_number_weights


class Focal(StrategyPart):
    """Focal loss (Lin et al. 2017) via keras.losses.CategoricalFocalCrossentropy, alpha fixed at 1.

    Keras applies `alpha` as one scalar to every class, and Adam is invariant
    to a constant factor on the loss, so alpha would change nothing; the
    class-balanced focal loss is `focal+effective-number` (Cui et al. 2019)
    or `focal+class-weight`.
    """

    name = "focal"
    description = (
        "focal loss down-weighting easy examples; class-balanced focal is focal+effective-number or focal+class-weight"
    )
    reference = "Lin et al. 2017, keras.losses.CategoricalFocalCrossentropy"
    version = 1
    parameters = {"gamma": Parameter(Tunable((1.0, 2.0, 3.0)), Bounds(0.0, 10.0))}

    def loss(self, hp: Any, y_train: np.ndarray, num_classes: int) -> Any:
        import keras

        return keras.losses.CategoricalFocalCrossentropy(
            alpha=1.0,
            gamma=float(self.value(hp, "gamma")),
            from_logits=True,
        )


class LogitAdjusted(StrategyPart):
    """Logit-adjusted cross-entropy (Menon et al. 2021), tau tunable; Balanced Softmax fixes tau = 1."""

    name = "logit-adjusted"
    description = "cross-entropy on logits + tau * log prior"
    reference = "Menon et al. 2021, Long-tail learning via logit adjustment"
    version = 1
    parameters = {"tau": Parameter(Tunable((0.5, 1.0, 1.5, 2.0)), Bounds(0.0, 5.0))}
    corrects_prior = True
    prefix = "logit_adjusted"  # balanced-softmax's fixed tau keeps this name too

    def loss(self, hp: Any, y_train: np.ndarray, num_classes: int) -> Any:
        from strategies.keras_losses import LogitAdjustedLoss

        return LogitAdjustedLoss(log_prior(y_train, num_classes), float(self.value(hp, "tau")))


class BalancedSoftmax(LogitAdjusted):
    """Balanced Softmax (Ren et al. 2020): logit adjustment with tau = 1, nothing to tune."""

    name = "balanced-softmax"
    description = "cross-entropy on logits + log prior (logit adjustment with tau = 1)"
    reference = "Ren et al. 2020, Balanced Meta-Softmax"
    version = 1
    parameters = {}

    def __init__(self) -> None:
        super().__init__(tau=1.0)


class LDAMDeferredReweighting(StrategyPart):
    """LDAM loss on cosine logits (Cao et al. 2019) plus deferred re-weighting (DRW) with effective-number weights.

    Claims the loss, the weights (DRW is its own class weighting) and the
    model's classifier, which becomes CosineLogits: a model must be functional
    or Sequential and end in Dense(num_classes), as the built-in models do.
    DRW switches on after `drw_start` of the epoch budget; the harness keeps
    no epoch from before it (bench.training.hypermodel), so the scored model had DRW on.
    """

    name = "ldam-drw"
    description = (
        "label-distribution-aware margins on cosine-normalised logits times scale, deferred re-weighting from "
        "drw_start of the epoch budget on"
    )
    reference = "Cao et al. 2019, LDAM-DRW (s = 30)"
    version = 1
    parameters = {
        "max_margin": Parameter(0.5, Bounds(0.0, 2.0, low_inclusive=False)),
        "scale": Parameter(Tunable((15.0, 30.0, 45.0)), Bounds(0.0, 100.0, low_inclusive=False)),
        "drw_start": Parameter(Tunable((0.5, 0.8)), Bounds(0.0, 1.0, high_inclusive=False)),  # 1: DRW never on
    }
    prefix = "ldam"
    corrects_prior = True
    weights_per_batch = True  # sum(w*l)/sum(w), as the reference code's weighted cross-entropy

    def init_model(self, model: Any, hp: Any, y_train: np.ndarray, num_classes: int) -> Any:
        import keras

        from strategies.keras_losses import CosineLogits

        last = model.layers[-1] if getattr(model, "layers", None) else None
        if not isinstance(last, keras.layers.Dense) or not getattr(model, "inputs", None):
            raise NotApplicable(
                "ldam-drw: the model must be functional or Sequential and end in Dense(num_classes), which is "
                "replaced by cosine-normalised logits; build it with keras.Model(inputs, outputs)"
            )
        logits = CosineLogits(num_classes, float(self.value(hp, "scale")), name="cosine_logits")(last.input)
        return keras.Model(model.input, logits, name=model.name)

    def loss(self, hp: Any, y_train: np.ndarray, num_classes: int) -> Any:
        from strategies.keras_losses import LDAMLoss

        counts = np.bincount(y_train, minlength=num_classes)
        return LDAMLoss(counts, float(self.value(hp, "max_margin")), float(self.value(hp, "scale")))

    def class_weight(self, hp: Any, y_train: np.ndarray) -> dict[int, float]:
        return effective_number_weights(y_train, 0.9999)

    def weights_start(self, hp: Any, epochs: int) -> int:
        return deferred_start(float(self.value(hp, "drw_start")), epochs)
