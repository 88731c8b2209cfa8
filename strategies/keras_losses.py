"""Losses no well-kept library offers for Keras 3, written with keras.ops.

Imported only when a model is compiled, so listing strategies and rendering
reports never load a Keras backend.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np


class LogitAdjustedLoss(keras.losses.Loss):
    """Cross-entropy on logits + tau * log(prior) (Menon et al. 2021); tau = 1 is Balanced Softmax (Ren et al. 2020).

    Adding the log prior during training only makes the model's raw logits
    estimate the balanced posterior, so prediction stays a plain argmax.
    """

    def __init__(self, log_prior: np.ndarray, tau: float, name: str = "logit_adjusted", **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.log_prior, self.tau = np.asarray(log_prior, "float32"), float(tau)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        shifted = y_pred + keras.ops.convert_to_tensor(self.tau * self.log_prior)
        return keras.losses.categorical_crossentropy(y_true, shifted, from_logits=True)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "log_prior": self.log_prior.tolist(), "tau": self.tau}


class LDAMLoss(keras.losses.Loss):
    """Label-distribution-aware margin loss (Cao et al. 2019) with per-class weights.

    The true class's logit is lowered by m_c = C / n_c ** 0.25 (C set so the
    largest margin is `max_margin`) and all logits are scaled by `scale`. The
    class weights live in a variable so deferred re-weighting can switch them
    mid-training (TensorFlow backend: the traced step reads the variable).
    """

    def __init__(self, counts: np.ndarray, max_margin: float, scale: float, name: str = "ldam", **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        counts = np.maximum(np.asarray(counts, "float64"), 1.0)
        margins = counts**-0.25
        self.margins = (margins * max_margin / margins.max()).astype("float32")
        self.scale = float(scale)
        self.class_weights = keras.Variable(np.ones(len(counts), "float32"), trainable=False, name="ldam_weights")

    def call(self, y_true: Any, y_pred: Any) -> Any:
        y_true = keras.ops.cast(y_true, y_pred.dtype)
        adjusted = (y_pred - y_true * keras.ops.convert_to_tensor(self.margins)) * self.scale
        per_sample = keras.losses.categorical_crossentropy(y_true, adjusted, from_logits=True)
        return per_sample * keras.ops.sum(y_true * self.class_weights, axis=-1)


class DeferredReweighting(keras.callbacks.Callback):
    """Switches the model's LDAM loss to the given class weights from a fraction of the epoch budget on."""

    def __init__(self, weights: np.ndarray, start_fraction: float) -> None:
        super().__init__()
        self.weights, self.start_fraction = np.asarray(weights, "float32"), start_fraction

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        start = round(self.start_fraction * self.params.get("epochs", 1))
        self.model.loss.class_weights.assign(self.weights if epoch >= start else np.ones_like(self.weights))
