"""Every registered strategy, on binary and multiclass toy data, through the real training code."""

from __future__ import annotations

import keras_tuner
import numpy as np
import pytest

from bench.catalog import catalog
from bench.models import resolve_model
from bench.registry import Tunable
from bench.specs import parse_spec
from bench.training import EpochBatches, FoldData, ImbalanceHyperModel, predict_logits
from bench.tuning import search
from strategies import STRATEGIES, resolve

NAMES = [entry.name for entry in STRATEGIES]


def toy_fold(num_classes: int) -> FoldData:
    """Imbalanced toy data; feature 0 marks the split (0 train, 1 validation) so leaks are visible."""
    rng = np.random.default_rng(num_classes)
    counts = [40, 12, 8][:num_classes]
    y = np.repeat(np.arange(num_classes), counts)
    x = rng.normal(size=(len(y), 6)).astype("float32") + y[:, None]
    val = np.arange(0, len(y), 4)
    train = np.setdiff1d(np.arange(len(y)), val)
    x[val, 0] = 1.0
    x[train, 0] = 0.0
    return FoldData(x[train], y[train], x[val], y[val], num_classes)


def hypermodel(name: str, fold: FoldData, seed: int = 1) -> ImbalanceHyperModel:
    _, builder = resolve_model("mlp", fold.x_train.shape[1:])
    return ImbalanceHyperModel(builder, resolve(name), fold, seed)


def test_at_least_fifteen_strategies():
    assert len(NAMES) >= 15


@pytest.mark.parametrize("name", NAMES)
def test_listed_with_description_and_reference(name):
    entry = STRATEGIES[name]
    assert entry.description and entry.reference
    text = catalog()
    assert f"  {name} " in text and entry.reference in text


@pytest.mark.parametrize("name", NAMES)
def test_hyperparameters_join_the_search_space(name):
    hp = keras_tuner.HyperParameters()
    model = hypermodel(name, toy_fold(3))
    model.build(hp)
    part = STRATEGIES.create(parse_spec(name))
    for key, default in STRATEGIES[name].params.items():
        hp_name = f"{part.prefix}_{key}"
        assert hp_name in hp.values
        space = {p.name: p for p in hp.space}
        if isinstance(default, Tunable):
            assert list(space[hp_name].values) == list(default.choices)


@pytest.mark.parametrize("num_classes", [2, 3])
@pytest.mark.parametrize("name", NAMES)
def test_trains_on_training_rows_only_and_validates_on_the_untouched_split(name, num_classes, monkeypatch):
    fold = toy_fold(num_classes)
    seen: list[np.ndarray] = []
    original = EpochBatches.__getitem__

    def spy(self, index):
        batch = original(self, index)
        seen.append(batch[0][:, 0])
        return batch

    monkeypatch.setattr(EpochBatches, "__getitem__", spy)
    model = hypermodel(name, fold)
    hp = keras_tuner.HyperParameters()
    history = model.fit(hp, model.build(hp), epochs=1)
    assert seen and np.all(np.concatenate(seen) == 0.0), "a validation row reached training"
    assert model.monitor.x_val is fold.x_val and model.monitor.y_val is fold.y_val
    assert np.isfinite(history.history["loss"][0])


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_model(name):
    fold = toy_fold(3)
    outputs = []
    for _ in range(2):
        model = hypermodel(name, fold, seed=7)
        hp = keras_tuner.HyperParameters()
        keras_model = model.build(hp)
        model.fit(hp, keras_model, epochs=1)
        outputs.append(predict_logits(keras_model, fold.x_val))
    np.testing.assert_array_equal(outputs[0], outputs[1])


@pytest.mark.parametrize("tuner", ["random", "hyperband", "bayesian"])
@pytest.mark.parametrize("name", NAMES)
def test_one_trial_under_each_tuner(name, tuner, tmp_path):
    result = search(
        tuner,
        hypermodel(name, toy_fold(3)),
        max_trials=1,
        epochs=1,
        patience=1,
        seed=3,
        directory=tmp_path,
        project="p",
    )
    assert result.best is not None, result.error
