import keras
import keras_tuner
import numpy as np
import pytest
from scipy.special import softmax
from sklearn.metrics import balanced_accuracy_score, confusion_matrix, f1_score, log_loss, recall_score

from bench.models import resolve_model
from bench.training import OBJECTIVE, EpochBatches, FoldData, ImbalanceHyperModel, ValidationMetrics, predict_logits
from strategies import resolve
from strategies.base import Strategy, StrategyPart

RNG = np.random.default_rng(0)
X = RNG.normal(size=(60, 8, 8, 1)).astype("float32")
Y = np.array([0] * 40 + [1] * 15 + [2] * 5)


def test_batches_cover_the_sampler_order_and_redraw_each_epoch():
    batches = EpochBatches(X, Y, 3, 16, lambda rng: rng.permutation(len(Y)), seed=1)
    first = np.concatenate([batches[i][1].argmax(1) for i in range(len(batches))])
    assert len(batches) == 4 and sorted(first) == sorted(Y)
    order = batches.order.copy()
    batches.on_epoch_end()
    assert not np.array_equal(order, batches.order)


@pytest.fixture
def fold() -> FoldData:
    val = np.arange(0, len(Y), 4)
    train = np.setdiff1d(np.arange(len(Y)), val)
    return FoldData(X[train], Y[train], X[val], Y[val], 3)


def test_validation_metrics_match_scikit_learn_on_the_whole_set(fold):
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(3)])
    model.compile(loss=keras.losses.CategoricalCrossentropy(from_logits=True))
    callback = ValidationMetrics(fold.x_val, fold.y_val, 3)
    callback.set_model(model)
    logs: dict[str, float] = {}
    callback.on_epoch_end(0, logs)
    logits = np.asarray(model.predict(fold.x_val, verbose=0))
    predicted = logits.argmax(1)
    assert logs[OBJECTIVE] == pytest.approx(f1_score(fold.y_val, predicted, average="macro", zero_division=0))
    assert logs["val_macro_recall"] == pytest.approx(balanced_accuracy_score(fold.y_val, predicted))
    assert logs["val_loss"] == pytest.approx(log_loss(fold.y_val, softmax(logits, axis=1), labels=[0, 1, 2]), rel=1e-4)
    assert callback.recall_per_class == [recall_score(fold.y_val, predicted, labels=[0, 1, 2], average=None).tolist()]
    assert np.array_equal(callback.confusion[0], confusion_matrix(fold.y_val, predicted, labels=[0, 1, 2]))


def test_live_mode_prints_a_classification_report(fold, capsys):
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(3)])
    model.compile(loss=keras.losses.CategoricalCrossentropy(from_logits=True))
    callback = ValidationMetrics(fold.x_val, fold.y_val, 3, class_names=("bee", "wasp", "<other>"))
    callback.set_model(model)
    callback.on_epoch_end(4, {})
    out = capsys.readouterr().out
    assert out.startswith("epoch 5: val_macro_f1") and "wasp" in out and "macro avg" in out


def test_chunked_prediction_equals_keras_predict(fold):
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(3)])
    assert np.allclose(predict_logits(model, X, chunk=7), model.predict(X, verbose=0), atol=1e-5)


@pytest.mark.parametrize("model_name", ["mlp", "cnn"])
def test_one_epoch_records_the_objective_and_outputs_logits(fold, model_name):
    _, builder = resolve_model(model_name, X.shape[1:])
    hypermodel = ImbalanceHyperModel(builder, resolve("oversample[target=1.0]"), fold, seed=3)
    hp = keras_tuner.HyperParameters()
    model = hypermodel.build(hp)
    history = hypermodel.fit(hp, model, epochs=1)
    assert OBJECTIVE in history.history and "val_macro_recall" in history.history
    assert hypermodel.samples_per_epoch == 3 * np.bincount(fold.y_train).max()
    assert model.output_shape == (None, 3)
    assert model.layers[-1].get_config()["activation"] == "linear", "models must output logits"


class RecordingPart(StrategyPart):
    """Spies on what a strategy's hooks are given during a real fit."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[np.ndarray] = []
        self.drawn: list[np.ndarray] = []

    def loss(self, hp, y_train, num_classes):
        self.seen.append(y_train)

    def class_weight(self, hp, y_train):
        self.seen.append(y_train)
        return {0: 1.0, 1: 2.0, 2: 3.0}

    def sampler(self, hp, y_train):
        self.seen.append(y_train)

        def draw(rng):
            rows = rng.choice(len(y_train), size=2 * len(y_train))
            self.drawn.append(rows)
            return rows

        return draw


def test_strategy_hooks_see_only_the_training_fold(fold):
    spy = RecordingPart()
    _, builder = resolve_model("mlp", X.shape[1:])
    hypermodel = ImbalanceHyperModel(builder, Strategy(("spy",), (spy,)), fold, seed=1)
    hp = keras_tuner.HyperParameters()
    hypermodel.fit(hp, hypermodel.build(hp), epochs=2)
    assert len(spy.seen) == 3 and all(np.array_equal(y, fold.y_train) for y in spy.seen)
    assert len(spy.drawn) >= 2 and all(rows.max() < len(fold.y_train) for rows in spy.drawn)


def test_a_diverging_fit_fails_with_its_reason(fold, monkeypatch):
    from bench.training import Diverged

    def exploding(self, hp, y_train, num_classes):
        return lambda y_true, y_pred: keras.ops.mean(y_pred) * float("inf")

    monkeypatch.setattr(Strategy, "loss", exploding)
    _, builder = resolve_model("mlp", X.shape[1:])
    hypermodel = ImbalanceHyperModel(builder, resolve("baseline"), fold, seed=3)
    hp = keras_tuner.HyperParameters()
    with pytest.raises(Diverged, match="training diverged: loss is (nan|inf) at epoch 1"):
        hypermodel.fit(hp, hypermodel.build(hp), epochs=3)


def test_mixed_precision_computes_in_float16_and_returns_float32_logits(fold):
    _, builder = resolve_model("cnn", X.shape[1:])
    hp = keras_tuner.HyperParameters()
    mixed = ImbalanceHyperModel(builder, resolve("baseline"), fold, seed=1, mixed_precision=True)
    model = mixed.build(hp)
    inner = [layer for layer in model.layers if isinstance(layer, keras.Model)][0]
    assert {layer.compute_dtype for layer in inner.layers if layer.weights} == {"float16"}
    assert {w.dtype for w in model.weights} == {"float32"}, "weights stay float32"
    history = mixed.fit(hp, model, epochs=1)
    assert np.isfinite(history.history["loss"][0])
    logits = predict_logits(model, fold.x_val)
    assert logits.dtype == np.float32 and logits.shape == (len(fold.y_val), 3)
    plain = ImbalanceHyperModel(builder, resolve("baseline"), fold, seed=1).build(hp)
    assert {layer.compute_dtype for layer in plain.layers if layer.weights} == {"float32"}, "the policy is reset"


def test_the_model_check_builds_under_the_studys_policy():
    from bench.models import check_builder

    seen: list[str] = []

    def builder(hp, input_shape, num_classes):
        seen.append(keras.config.dtype_policy().name)
        return resolve_model("mlp", input_shape)[1](hp, input_shape, num_classes)

    check_builder("probe", builder, (8,), 3, mixed_precision=True)
    check_builder("probe", builder, (8,), 3)
    assert seen == ["mixed_float16", "float32"] and keras.config.dtype_policy().name == "float32"
