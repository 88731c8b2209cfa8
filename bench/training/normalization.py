"""The built-in models' first layer: Keras's Normalization, reading the training fold's statistics as variables."""

from __future__ import annotations

from typing import Any

import keras


@keras.saving.register_keras_serializable(package="bench")
class FoldNormalization(keras.layers.Normalization):
    """Keras's Normalization, whose statistics are read from its variables at each call.

    Keras's own layer turns the adapted mean and variance into constants,
    which a traced step captures: every fold's statistics would then be a
    structure of their own to compile (bench.training.compiled). Read as
    variables, one compiled model serves the folds of every seed and split.
    The formula and its operations are Keras's, (x - mean) / max(sqrt(variance), epsilon),
    and so are the outputs (tests/training/test_normalization.py) and, on
    TensorFlow and PyTorch, whole studies. XLA compiles a jitted train step
    around Keras's constants differently, so on JAX the built-in models keep
    Keras's layer (bench.backend.reads_fold_statistics_as_variables).
    """

    def finalize_state(self) -> None:
        """Nothing to derive: call() reads the variables."""

    def call(self, inputs: Any) -> Any:
        ops = keras.ops
        mean = ops.cast(ops.reshape(self.adapt_mean, self._broadcast_shape), self.compute_dtype)
        variance = ops.cast(ops.reshape(self.adapt_variance, self._broadcast_shape), self.compute_dtype)
        inputs = ops.convert_to_tensor(inputs, dtype=self.compute_dtype)
        return ops.divide(ops.subtract(inputs, mean), ops.maximum(ops.sqrt(variance), keras.config.epsilon()))
