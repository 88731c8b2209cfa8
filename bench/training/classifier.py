"""The layer that computes the logits, for strategies that act on it alone (Kang et al. 2020's decoupling)."""

from __future__ import annotations

import keras
import numpy as np

from bench.training.compiled import all_layers
from strategies.base import NotApplicable


def classifier_layer(model: keras.Model, num_classes: int) -> keras.layers.Dense:
    """The model's last layer with weights, which must be a Dense of one unit per class (NotApplicable otherwise).

    A model wrapped for mixed precision keeps it inside; a layer with
    weights after it (LDAM's cosine logits) means the logits are not its output.
    """
    weighted = [layer for layer in all_layers(model) if layer.weights and not getattr(layer, "layers", None)]
    last = weighted[-1] if weighted else None
    if not isinstance(last, keras.layers.Dense) or last.units != num_classes:
        raise NotApplicable(
            f"the model's last layer with weights is {type(last).__name__}, not a Dense layer of {num_classes} "
            "units (one logit per class), so it has no classifier layer to act on"
        )
    return last


def classifier_record(model: keras.Model, num_classes: int) -> dict[str, list[float]] | None:
    """The logits layer's per-class weight norms and bias, as a trained cell's history keeps them (None if none)."""
    try:
        layer = classifier_layer(model, num_classes)
    except NotApplicable:
        return None
    kernel = keras.ops.convert_to_numpy(layer.kernel).astype("float64")
    bias = keras.ops.convert_to_numpy(layer.bias).astype("float64") if layer.use_bias else np.zeros(num_classes)
    return {"norms": np.linalg.norm(kernel, axis=0).tolist(), "bias": bias.tolist()}


def freeze_all_but(model: keras.Model, kept: keras.layers.Layer) -> None:
    """Make every layer but `kept` non-trainable (batch normalisation then runs in inference mode, as Keras does)."""
    for layer in all_layers(model):
        if not getattr(layer, "layers", None):
            layer.trainable = layer is kept


def reinitialise(layer: keras.layers.Dense) -> None:
    """The layer's kernel and bias drawn again by its own initialisers (seeded at build, so the same each time)."""
    layer.kernel.assign(layer.kernel_initializer(layer.kernel.shape, layer.kernel.dtype))
    if layer.use_bias:
        layer.bias.assign(layer.bias_initializer(layer.bias.shape, layer.bias.dtype))
