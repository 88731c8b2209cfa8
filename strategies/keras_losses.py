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


class CosineLogits(keras.layers.Layer):
    """scale * cos(features, w_c) for each class c: the normalised classifier of LDAM (Cao et al. 2019).

    Their reference code (NormedLinear) feeds LDAM cosines scaled by s = 30: the
    margins then act on a bounded quantity the network cannot rescale around,
    as it could with raw Dense logits. The logits stay scaled, so softmax and
    argmax of the stored logits mean what they mean for any other model.
    """

    def __init__(self, units: int, scale: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.units, self.scale = int(units), float(scale)

    def build(self, input_shape: tuple[int, ...]) -> None:
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer="glorot_uniform", name="kernel")

    def call(self, inputs: Any) -> Any:
        features = keras.ops.normalize(inputs, axis=-1)
        kernel = keras.ops.normalize(self.kernel, axis=0)
        return self.scale * keras.ops.matmul(features, kernel)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "units": self.units, "scale": self.scale}


class LDAMLoss(keras.losses.Loss):
    """Label-distribution-aware margin loss (Cao et al. 2019) on CosineLogits.

    The true class's cosine is lowered by m_c = C / n_c ** 0.25 (C set so the
    largest margin is `max_margin`) before scaling: on logits s * cos, the
    true class's logit is lowered by s * m_c. Class weights (DRW) arrive as
    per-sample weights from the batches (bench.training.batches.EpochBatches), so
    every backend sees them switch on.
    """

    def __init__(self, counts: np.ndarray, max_margin: float, scale: float, name: str = "ldam", **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        counts = np.maximum(np.asarray(counts, "float64"), 1.0)
        margins = counts**-0.25
        self.margins = (margins * max_margin / margins.max()).astype("float32")
        self.scale = float(scale)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        y_true = keras.ops.cast(y_true, y_pred.dtype)
        adjusted = y_pred - y_true * keras.ops.convert_to_tensor(self.scale * self.margins)
        return keras.losses.categorical_crossentropy(y_true, adjusted, from_logits=True)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "margins": self.margins.tolist(), "scale": self.scale}
