"""A worked example of bringing your own Keras model to imbalance-bench.

`python -m bench run --config studies/user-model.toml` uses this file. For every
strategy and trial the harness calls ``build(hp, input_shape, num_classes)``,
then compiles the returned model with that strategy's loss and trains it. So a
builder must:

- declare what to tune on ``hp`` (keras-tuner HyperParameters); the tuner
  searches these alongside the strategy's own knobs and the learning rate;
- return an *uncompiled* ``keras.Model``;
- end in ``Dense(num_classes)`` with no activation: the harness compiles every
  loss with ``from_logits=True``, and a model ending in softmax is refused.
"""

import keras
import keras_tuner


def build(hp: keras_tuner.HyperParameters, input_shape: tuple[int, ...], num_classes: int) -> keras.Model:
    inputs = keras.Input(shape=input_shape)
    x = keras.layers.Flatten()(inputs)
    width = hp.Choice("width", [64, 128])
    x = keras.layers.Dense(width, activation="relu")(x)
    for _ in range(hp.Int("residual_blocks", 1, 2)):
        h = keras.layers.Dense(width, activation="relu")(x)
        h = keras.layers.Dropout(hp.Float("dropout", 0.0, 0.4, step=0.2))(h)
        x = keras.layers.Add()([x, keras.layers.Dense(width)(h)])
    logits = keras.layers.Dense(num_classes)(x)  # no softmax: logits
    return keras.Model(inputs, logits, name="residual_mlp")
