"""Hypermodels: functions of (hp, input_shape, num_classes) returning an uncompiled model of logits.

The harness, not the builder, compiles the model with the strategy's loss; a
builder only decides architecture, so the same builder serves every strategy
and a user's own builder (`--model module:function`) plugs in the same way.
The built-in models begin with a Normalization layer that the harness sets
to the training fold's statistics (bench.training.hypermodel.adapt_fold_normalization),
so raw uint8 pixels and pre-scaled inputs train alike; a user's model gets
the arrays as they are, unless it holds a layer of that name too.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from bench.errors import UserError
from bench.registry import Entry, Registry
from bench.user_code import load_named

Builder = Callable[[Any, tuple[int, ...], int], Any]
# A Normalization layer of this name, applied to the model's inputs, is set to training-fold statistics.
FOLD_NORMALIZATION = "fold_normalization"


def fold_normalization(inputs: Any, axis: int | tuple[int, ...] = -1) -> Any:
    """The model's inputs standardised along `axis` with training-fold statistics, which the harness sets."""
    import keras

    from bench.backend import reads_fold_statistics_as_variables
    from bench.training.normalization import FoldNormalization

    layer = FoldNormalization if reads_fold_statistics_as_variables() else keras.layers.Normalization
    return layer(axis=axis, name=FOLD_NORMALIZATION)(inputs)


def mlp(hp: Any, input_shape: tuple[int, ...], num_classes: int) -> Any:
    """Dense layers on flattened input; the default for vectors."""
    import keras

    inputs = keras.Input(shape=input_shape)
    per_feature = tuple(range(1, len(input_shape) + 1))
    x = keras.layers.Flatten()(fold_normalization(inputs, per_feature))
    for i in range(hp.Int("mlp_layers", 1, 2)):
        x = keras.layers.Dense(hp.Choice(f"mlp_units_{i}", [64, 128, 256]), activation="relu")(x)
        x = keras.layers.Dropout(hp.Float("dropout", 0.0, 0.5, step=0.1))(x)
    return keras.Model(inputs, keras.layers.Dense(num_classes)(x), name="mlp")


def cnn(hp: Any, input_shape: tuple[int, ...], num_classes: int) -> Any:
    """Conv blocks (filters doubling per block) and global pooling; the default for images."""
    import keras

    inputs = keras.Input(shape=input_shape)
    x = fold_normalization(inputs)  # per channel
    if hp.Boolean("cnn_flip", default=False):  # augmentation: active in training only
        x = keras.layers.RandomFlip("horizontal")(x)
    filters = hp.Choice("cnn_filters", [16, 32, 64])
    batch_norm = hp.Boolean("cnn_batch_norm", default=False)
    for block in range(hp.Int("cnn_blocks", 1, 3, default=2)):
        x = keras.layers.Conv2D(filters * 2**block, 3, padding="same", use_bias=not batch_norm)(x)
        if batch_norm:
            x = keras.layers.BatchNormalization()(x)
        x = keras.layers.Activation("relu")(x)
        if min(x.shape[1:3]) >= 4:
            x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(hp.Float("dropout", 0.0, 0.5, step=0.1))(x)
    return keras.Model(inputs, keras.layers.Dense(num_classes)(x), name="cnn")


def _residual_block(x: Any, filters: int, stride: int, decay: Any) -> Any:
    """He et al.'s basic block; a shortcut that changes shape subsamples and pads channels with zeros (option A)."""
    import keras

    def conv(y: Any, conv_stride: int) -> Any:
        y = keras.layers.Conv2D(
            filters, 3, conv_stride, "same", use_bias=False, kernel_initializer="he_normal", kernel_regularizer=decay
        )(y)
        return keras.layers.BatchNormalization()(y)

    y = conv(keras.layers.Activation("relu")(conv(x, stride)), 1)
    shortcut = x
    if stride != 1 or x.shape[-1] != filters:
        pad = (filters - x.shape[-1]) // 2
        shortcut = keras.layers.MaxPooling2D(pool_size=1, strides=stride)(x)  # x[:, ::stride, ::stride]
        height, width, channels = shortcut.shape[1:]
        shortcut = keras.layers.Reshape((height, width, channels, 1))(shortcut)
        shortcut = keras.layers.ZeroPadding3D(((0, 0), (0, 0), (pad, filters - channels - pad)))(shortcut)
        shortcut = keras.layers.Reshape((height, width, filters))(shortcut)
    return keras.layers.Activation("relu")(keras.layers.Add()([y, shortcut]))


def resnet32(hp: Any, input_shape: tuple[int, ...], num_classes: int) -> Any:
    """ResNet-32 for 32x32 images as Cao et al. 2019 (LDAM-DRW) and Menon et al. 2021 train it on CIFAR-LT.

    He et al. 2016's CIFAR network: a 16-filter conv, three stages of five
    basic blocks (16, 32, 64 filters; the 2nd and 3rd halve the resolution,
    with option A shortcuts), global pooling, a Dense layer of logits; weight
    decay 2e-4 (an L2 penalty of 1e-4, Keras's form of the same gradient) and
    the paper's augmentation: horizontal flips and shifts of up to 4 pixels,
    filled with black before the fold's normalisation, as its zero-padded
    crops are. 464,154 trainable weights for 10 classes (0.46M, He et al.'s count).
    """
    import keras

    decay = keras.regularizers.L2(1e-4)
    inputs = keras.Input(shape=input_shape)
    x = keras.layers.RandomFlip("horizontal")(inputs)  # augmentation: active in training only
    x = keras.layers.RandomTranslation(4 / input_shape[0], 4 / input_shape[1], fill_mode="constant")(x)
    x = fold_normalization(x)  # per channel, with statistics of the training fold's (unaugmented) images
    x = keras.layers.Conv2D(
        16, 3, padding="same", use_bias=False, kernel_initializer="he_normal", kernel_regularizer=decay
    )(x)
    x = keras.layers.Activation("relu")(keras.layers.BatchNormalization()(x))
    for stage, filters in enumerate((16, 32, 64)):
        for block in range(5):
            x = _residual_block(x, filters, 2 if stage > 0 and block == 0 else 1, decay)
    x = keras.layers.GlobalAveragePooling2D()(x)
    logits = keras.layers.Dense(num_classes, kernel_initializer="he_normal", kernel_regularizer=decay)(x)
    return keras.Model(inputs, logits, name="resnet32")


def rnn(hp: Any, input_shape: tuple[int, ...], num_classes: int) -> Any:
    """One recurrent layer over (steps, features) sequences, as in the LSTM of the Keras callbacks tutorial."""
    import keras

    inputs = keras.Input(shape=input_shape)
    cell = keras.layers.LSTM if hp.Choice("rnn_cell", ["lstm", "gru"]) == "lstm" else keras.layers.GRU
    x = cell(hp.Choice("rnn_units", [32, 64, 128]))(fold_normalization(inputs))  # per feature
    x = keras.layers.Dropout(hp.Float("dropout", 0.0, 0.5, step=0.1))(x)
    return keras.Model(inputs, keras.layers.Dense(num_classes)(x), name="rnn")


MODELS: Registry[Builder] = Registry("model")
MODELS.add(Entry("mlp", "dense network on flattened input (layers, units, dropout tuned)", lambda: mlp))
MODELS.add(
    Entry("cnn", "conv blocks + global pooling for images (blocks, filters, batch norm, flips, dropout)", lambda: cnn)
)
MODELS.add(
    Entry(
        "resnet32",
        "ResNet-32 of Cao et al. 2019 for 32x32 images (flips and shifts; nothing tuned beyond the harness's); "
        "on a 2-core CPU about 3 s per 1,000 training images per epoch, ~30 s per epoch of CIFAR-10-LT at ratio 100",
        lambda: resnet32,
        reference="He et al. 2016; Cao et al. 2019",
    )
)
MODELS.add(Entry("rnn", "LSTM or GRU over (steps, features) sequences (cell, units, dropout tuned)", lambda: rnn))
MODELS.add(Entry("auto", "cnn for (H, W, C) images, rnn for (steps, features) sequences, mlp otherwise", lambda: None))
IMAGE = (3, "image input (height, width, channels)")
NEEDS_RANK = {"cnn": IMAGE, "resnet32": IMAGE, "rnn": (2, "sequence input (steps, features)")}
AUTO = {3: "cnn", 2: "rnn"}


@functools.cache
def user_builder(text: str) -> Builder:
    """`package.module:function` or `path/to/file.py:function`; imported only because the user named it."""
    return load_named(text, "model", "function", callable, "my_models:build or studies/my_model.py:build")


class ResolvedModel(NamedTuple):
    """A model as the study names it (the store keeps the name) and the builder that makes it."""

    name: str
    builder: Builder


def resolve_model(name: str, input_shape: tuple[int, ...]) -> ResolvedModel:
    """The concrete builder for a model name; `auto` looks at the input shape."""
    if ":" in name:
        return ResolvedModel(name, user_builder(name))
    if name == "auto":
        name = AUTO.get(len(input_shape), "mlp")
    if name in NEEDS_RANK and len(input_shape) != NEEDS_RANK[name][0]:
        raise UserError(
            f"model {name} needs {NEEDS_RANK[name][1]}, the data has shape {input_shape}; use --model mlp or auto"
        )
    return ResolvedModel(name, MODELS[name].factory())


def check_builder(
    name: str, builder: Builder, input_shape: tuple[int, ...], num_classes: int, mixed_precision: bool = False
) -> None:
    """Build once with default hyperparameters and refuse a model the harness cannot train.

    A model must output one logit per class: the harness compiles every
    strategy's loss with from_logits=True, and a softmax output would be
    silently squashed twice. It is built under the study's dtype policy, so a
    builder that fails in float16 is refused here rather than in every trial.
    """
    import keras
    import keras_tuner

    keras.config.set_dtype_policy("mixed_float16" if mixed_precision else "float32")
    try:
        model = builder(keras_tuner.HyperParameters(), input_shape, num_classes)
        probe = np.zeros((2, *input_shape), "float32")
        output = model(probe, training=False) if isinstance(model, keras.Model) else None
    except Exception as exc:  # the user's builder is foreign code: report, do not crash
        first_line = (str(exc).strip().splitlines() or [""])[0]
        raise UserError(
            f"model {name}: building it for input {input_shape} failed: {type(exc).__name__}: {first_line}"
        ) from None
    finally:
        keras.backend.clear_session()
        keras.config.set_dtype_policy("float32")  # each training build sets the study's policy again
    if output is None:
        raise UserError(f"model {name}: the builder returned {type(model).__name__}, not an uncompiled keras.Model")
    shape = tuple(getattr(output, "shape", ()))
    if shape != (2, num_classes):
        raise UserError(
            f"model {name}: outputs shape {shape[1:]} per sample; it must output ({num_classes},), a logit per class"
        )
    last = model.layers[-1] if model.layers else None
    squashing = (keras.activations.softmax, keras.activations.sigmoid)
    if isinstance(last, keras.layers.Softmax) or getattr(last, "activation", None) in squashing:
        raise UserError(
            f"model {name}: its last layer applies softmax or sigmoid; return raw logits (Dense({num_classes}) "
            "with no activation), since the harness compiles each strategy's loss with from_logits=True"
        )


def predict_logits(model: Any, x: np.ndarray, chunk: int = 1024) -> np.ndarray:
    """Logits in chunks via predict_on_batch.

    model.predict builds a data pipeline per call (~80 ms on small data);
    called every epoch that overhead would exceed the epoch itself.
    """
    parts = [np.asarray(model.predict_on_batch(x[i : i + chunk])) for i in range(0, len(x), chunk)]
    return np.concatenate(parts)
