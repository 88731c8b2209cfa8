"""Built-in hypermodels: functions of (hp, input_shape, num_classes) returning logits.

The harness, not the builder, compiles the model with the strategy's loss; a
builder only decides architecture, so the same builder serves every strategy
and a user's own builder plugs in the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.errors import UserError
from bench.registry import Entry, Registry

Builder = Callable[[Any, tuple[int, ...], int], Any]


def mlp(hp: Any, input_shape: tuple[int, ...], num_classes: int) -> Any:
    """Dense layers on flattened input; the default for vectors."""
    import keras

    inputs = keras.Input(shape=input_shape)
    x = keras.layers.Flatten()(inputs)
    for i in range(hp.Int("mlp_layers", 1, 2)):
        x = keras.layers.Dense(hp.Choice(f"mlp_units_{i}", [64, 128, 256]), activation="relu")(x)
        x = keras.layers.Dropout(hp.Float("dropout", 0.0, 0.5, step=0.1))(x)
    return keras.Model(inputs, keras.layers.Dense(num_classes)(x), name="mlp")


def cnn(hp: Any, input_shape: tuple[int, ...], num_classes: int) -> Any:
    """Two small conv blocks and global pooling; the default for images."""
    import keras

    inputs = keras.Input(shape=input_shape)
    filters = hp.Choice("cnn_filters", [16, 32, 64])
    x = inputs
    for block in range(2):
        x = keras.layers.Conv2D(filters * 2**block, 3, padding="same", activation="relu")(x)
        if min(x.shape[1:3]) >= 4:
            x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(hp.Float("dropout", 0.0, 0.5, step=0.1))(x)
    return keras.Model(inputs, keras.layers.Dense(num_classes)(x), name="cnn")


MODELS: Registry[Builder] = Registry("model")
MODELS.add(Entry("mlp", "dense network on flattened input (units, layers, dropout tuned)", lambda: mlp))
MODELS.add(Entry("cnn", "two conv blocks + global pooling for images (filters, dropout tuned)", lambda: cnn))
MODELS.add(Entry("auto", "cnn for image-shaped input (H, W, C), mlp otherwise", lambda: None))


def resolve_model(name: str, input_shape: tuple[int, ...]) -> tuple[str, Builder]:
    """The concrete builder for a model name; `auto` looks at the input shape."""
    if name == "auto":
        name = "cnn" if len(input_shape) == 3 else "mlp"
    if name == "cnn" and len(input_shape) != 3:
        raise UserError(
            f"model cnn needs image input (height, width, channels), the data has shape {input_shape}; "
            "use --model mlp or auto"
        )
    builder = MODELS[name].factory()
    return name, builder
