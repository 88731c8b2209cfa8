"""Built-in hypermodels and user builders: chosen by shape, output logits, train deterministically."""

from __future__ import annotations

import sys

import keras_tuner
import numpy as np
import pytest

from bench.errors import UserError
from bench.training.hypermodel import FoldData, ImbalanceHyperModel
from bench.training.models import check_builder, predict_logits, resolve_model
from strategies import resolve
from tests.conftest import STUDIES

pytestmark = pytest.mark.backend


@pytest.mark.parametrize(("shape", "expected"), [((8, 8, 3), "cnn"), ((12, 4), "rnn"), ((64,), "mlp")])
def test_auto_chooses_by_input_rank(shape, expected):
    assert resolve_model("auto", shape).name == expected


def test_resnet32_is_cao_et_als_network_with_option_a_shortcuts():
    import keras

    from bench.training.models import resnet32

    model = resnet32(keras_tuner.HyperParameters(), (32, 32, 3), 10)
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == 464_154, "ResNet-32's 0.46M for CIFAR-10"
    assert sum(isinstance(layer, keras.layers.Conv2D) for layer in model.layers) == 31
    assert not any(isinstance(layer, keras.layers.Conv2D) and layer.kernel_size == (1, 1) for layer in model.layers)
    x = np.random.default_rng(0).normal(size=(2, 32, 32, 3)).astype("float32")
    first, second = (keras.ops.convert_to_numpy(model(x, training=False)) for _ in range(2))
    np.testing.assert_array_equal(first, second)  # augmentation: training only
    with pytest.raises(UserError, match="model resnet32 needs image input"):
        resolve_model("resnet32", (64,))


def test_rnn_needs_sequences():
    with pytest.raises(UserError, match="model rnn needs sequence input"):
        resolve_model("rnn", (64,))


def fold(shape: tuple[int, ...], num_classes: int = 3, rows: int = 48) -> FoldData:
    rng = np.random.default_rng(0)
    y = np.arange(rows) % num_classes
    x = rng.normal(size=(rows, *shape)).astype("float32")
    return FoldData(x[:36], y[:36], x[36:], y[36:], num_classes)


def train_once(model_name: str, data: FoldData, fixed: dict[str, object]) -> np.ndarray:
    _, builder = resolve_model(model_name, data.x_train.shape[1:])
    hypermodel = ImbalanceHyperModel(builder, resolve("baseline"), data, seed=5)
    hp = keras_tuner.HyperParameters()
    for name, value in fixed.items():
        hp.Fixed(name, value)
    model = hypermodel.build(hp)
    hypermodel.fit(hp, model, epochs=1)
    return predict_logits(model, data.x_val)


@pytest.mark.parametrize(
    ("model_name", "shape", "fixed"),
    [
        ("cnn", (8, 8, 1), {"cnn_flip": True, "cnn_batch_norm": True, "cnn_blocks": 3}),
        ("rnn", (6, 2), {"rnn_cell": "lstm"}),
        ("rnn", (6, 2), {"rnn_cell": "gru"}),
        ("resnet32", (16, 16, 3), {}),
    ],
)
def test_models_train_to_logits_and_repeat_exactly(model_name, shape, fixed):
    data = fold(shape)
    first, second = train_once(model_name, data, fixed), train_once(model_name, data, fixed)
    assert first.shape == (12, 3) and np.isfinite(first).all()
    np.testing.assert_array_equal(first, second)


def test_a_module_function_builder(tmp_path, monkeypatch):
    (tmp_path / "team_models.py").write_text(
        "import keras\n\ndef tiny(hp, input_shape, num_classes):\n"
        "    inputs = keras.Input(input_shape)\n"
        "    return keras.Model(inputs, keras.layers.Dense(num_classes)(keras.layers.Flatten()(inputs)))\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    name, builder = resolve_model("team_models:tiny", (4,))
    assert name == "team_models:tiny"
    check_builder(name, builder, (4,), 3)
    sys.modules.pop("team_models", None)


def test_the_worked_example_passes_the_model_check():
    name, builder = resolve_model(f"{STUDIES / 'my_model.py'}:build", (64,))
    check_builder(name, builder, (64,), 10)
