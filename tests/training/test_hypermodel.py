import keras
import keras_tuner
import numpy as np
import pytest
from scipy.special import softmax
from sklearn.metrics import balanced_accuracy_score, confusion_matrix, f1_score, log_loss, recall_score

from bench.config import TrainingOptions
from bench.training import compiled as compiled_module
from bench.training.batches import EpochBatches
from bench.training.callbacks import OBJECTIVE, ValidationMetrics
from bench.training.compiled import CompiledModels
from bench.training.hypermodel import Fit, FoldData, ImbalanceHyperModel
from bench.training.models import predict_logits, resolve_model
from strategies import resolve
from strategies.base import Strategy, StrategyPart

pytestmark = pytest.mark.backend

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


def test_batches_of_a_strategy_without_weights_weigh_every_sample_1():
    """One signature for every strategy's batches, so a kept model's traced step serves them all."""
    batches = EpochBatches(X, Y, 3, 16, lambda rng: rng.permutation(len(Y)), seed=1)
    for i in range(len(batches)):
        x, onehot, per_sample = batches[i]
        assert per_sample.dtype == np.float32 and per_sample.shape == (len(x),) and np.all(per_sample == 1.0)


@pytest.fixture
def fold() -> FoldData:
    val = np.arange(0, len(Y), 4)
    train = np.setdiff1d(np.arange(len(Y)), val)
    return FoldData(X[train], Y[train], X[val], Y[val], 3)


def one_scored_epoch(x_val: np.ndarray, y_val: np.ndarray) -> tuple[dict[str, float], ValidationMetrics, np.ndarray]:
    """The logs, the callback and the logits after ValidationMetrics scores an untrained model once."""
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(3)])
    model.compile(loss=keras.losses.CategoricalCrossentropy(from_logits=True))
    callback = ValidationMetrics(x_val, y_val, 3)
    callback.set_model(model)
    logs: dict[str, float] = {}
    callback.on_epoch_end(0, logs)
    return logs, callback, np.asarray(model.predict(x_val, verbose=0))


def test_validation_metrics_match_scikit_learn_on_the_whole_set(fold):
    logs, callback, logits = one_scored_epoch(fold.x_val, fold.y_val)
    predicted = logits.argmax(1)
    labels = [0, 1, 2]
    assert logs[OBJECTIVE] == pytest.approx(f1_score(fold.y_val, predicted, labels=labels, average="macro"))
    assert logs["val_macro_recall"] == pytest.approx(balanced_accuracy_score(fold.y_val, predicted))
    assert logs["val_loss"] == pytest.approx(log_loss(fold.y_val, softmax(logits, axis=1), labels=labels), rel=1e-4)
    assert callback.recall_per_class == [recall_score(fold.y_val, predicted, labels=labels, average=None).tolist()]
    assert np.array_equal(callback.confusion[0], confusion_matrix(fold.y_val, predicted, labels=labels))


def test_the_objective_early_stopping_reads_scores_a_class_validation_lacks(fold):
    """The logged objective (what keras-tuner, EarlyStopping and the curves read) averages over every class."""
    keep = fold.y_val != 2
    logs, _, logits = one_scored_epoch(fold.x_val[keep], fold.y_val[keep])
    predicted, labels = logits.argmax(1), [0, 1, 2]
    every_class = f1_score(fold.y_val[keep], predicted, labels=labels, average="macro", zero_division=0)
    assert logs[OBJECTIVE] == pytest.approx(every_class)
    recall = recall_score(fold.y_val[keep], predicted, labels=labels, average="macro", zero_division=0)
    assert logs["val_macro_recall"] == pytest.approx(recall)


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
    fit = hypermodel.train(hp, model, epochs=1)
    assert OBJECTIVE in fit.history and "val_macro_recall" in fit.history
    assert fit.samples_per_epoch == 3 * np.bincount(fold.y_train).max()
    assert len(fit.recall_per_class) == len(fit.confusion) == 1 and len(fit.recall_per_class[0]) == 3
    assert hypermodel.fit(hp, hypermodel.build(hp), epochs=1).keys() == fit.history.keys(), "keras-tuner's scores"
    assert model.output_shape == (None, 3)
    assert model.layers[-1].get_config()["activation"] == "linear", "models must output logits"


def test_an_optimizer_made_at_compile_trains_as_one_keras_makes_and_traces_the_step_once(fold, monkeypatch):
    """Keras would make the optimizer's variables inside the first train step; on TensorFlow that traces the step
    twice (once to lift them). Made at compile, they start as the same zeros: the same weights, bit for bit."""
    _, builder = resolve_model("mlp", X.shape[1:])
    traced: list[str] = []
    step = keras.Model.train_step

    def counting(model, *state_and_data):
        traced.append(how)
        return step(model, *state_and_data)

    monkeypatch.setattr(keras.Model, "train_step", counting)
    weights, optimizers_built = {}, {}
    for how in ("at compile", "by keras"):
        if how == "by keras":
            monkeypatch.setattr(
                compiled_module,
                "compile_with_optimizer_built",
                lambda model, optimizer, loss: model.compile(optimizer=optimizer, loss=loss),
            )
        hypermodel = ImbalanceHyperModel(builder, resolve("baseline"), fold, 3, compiled=CompiledModels(capacity=0))
        hp = keras_tuner.HyperParameters()
        model = hypermodel.build(hp)
        optimizers_built[how] = model.optimizer.built
        hypermodel.train(hp, model, epochs=2)
        weights[how] = [keras.ops.convert_to_numpy(v) for v in model.variables]
    assert optimizers_built == {"at compile": True, "by keras": False}
    assert all(np.array_equal(a, b) for a, b in zip(weights["at compile"], weights["by keras"], strict=True))
    if keras.backend.backend() == "tensorflow":  # JAX makes them before tracing anyway; PyTorch does not trace
        assert (traced.count("at compile"), traced.count("by keras")) == (1, 2)


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
    from bench.training.callbacks import Diverged

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
    mixed = ImbalanceHyperModel(builder, resolve("baseline"), fold, 1, TrainingOptions(mixed_precision=True))
    model = mixed.build(hp)
    inner = [layer for layer in model.layers if isinstance(layer, keras.Model)][0]
    assert {layer.compute_dtype for layer in inner.layers if layer.weights} == {"float16"}
    assert {w.dtype for w in model.weights if w.name != "count"} == {"float32"}, "weights stay float32"
    fit = mixed.train(hp, model, epochs=1)
    assert np.isfinite(fit.history["loss"][0])
    logits = predict_logits(model, fold.x_val)
    assert logits.dtype == np.float32 and logits.shape == (len(fold.y_val), 3)
    plain = ImbalanceHyperModel(builder, resolve("baseline"), fold, seed=1).build(hp)
    assert {layer.compute_dtype for layer in plain.layers if layer.weights} == {"float32"}, "the policy is reset"


def test_the_model_check_builds_under_the_studys_policy():
    from bench.training.models import check_builder

    seen: list[str] = []

    def builder(hp, input_shape, num_classes):
        seen.append(keras.config.dtype_policy().name)
        return resolve_model("mlp", input_shape).builder(hp, input_shape, num_classes)

    check_builder("probe", builder, (8,), 3, mixed_precision=True)
    check_builder("probe", builder, (8,), 3)
    assert seen == ["mixed_float16", "float32"] and keras.config.dtype_policy().name == "float32"


def trained_logits(x: np.ndarray, model_name: str, seed: int = 2) -> np.ndarray:
    train, val = np.arange(0, 60, 2), np.arange(1, 60, 2)
    fold = FoldData(x[train], Y[train], x[val], Y[val], 3)
    _, builder = resolve_model(model_name, x.shape[1:])
    hypermodel = ImbalanceHyperModel(builder, resolve("baseline"), fold, seed=seed)
    hp = keras_tuner.HyperParameters()
    model = hypermodel.build(hp)
    hypermodel.fit(hp, model, epochs=2)
    return predict_logits(model, fold.x_val)


@pytest.mark.parametrize("model_name", ["mlp", "cnn"])
def test_raw_uint8_inputs_train_as_the_same_data_scaled_by_hand(model_name):
    """Built-in models standardise with training-fold statistics, so the scale the data comes in does not matter."""
    raw = np.random.default_rng(5).integers(0, 256, size=(60, 8, 8, 1)).astype("uint8")
    from_raw = trained_logits(raw, model_name)
    from_scaled = trained_logits(raw.astype("float32") / 255.0, model_name)
    np.testing.assert_allclose(from_raw, from_scaled, atol=2e-3)
    assert not np.allclose(from_raw, trained_logits(raw, model_name, seed=3), atol=2e-3), "a real difference shows"


def test_fold_normalization_uses_training_statistics_and_survives_a_constant_feature():
    from bench.training.hypermodel import adapt_fold_normalization

    _, builder = resolve_model("mlp", (3,))
    model = builder(keras_tuner.HyperParameters(), (3,), 2)
    x_train = np.array([[0.0, 10.0, 5.0], [0.0, 30.0, 5.0]], "float32")  # features 0 and 2 constant
    adapt_fold_normalization(model, x_train)
    layer = model.get_layer("fold_normalization")
    normalised = np.asarray(layer(np.array([[1.0, 20.0, 7.0]], "float32")))
    np.testing.assert_allclose(normalised, [[1.0, 0.0, 2.0]], atol=1e-5)


@pytest.mark.parametrize("per_batch", [False, True])
def test_deferred_weights_reach_the_batches_from_their_epoch_on(per_batch):
    """As Keras's class_weight= (the weights as given), or scaled to mean 1 per batch (LDAM-DRW's sum(w*l)/sum(w))."""
    from strategies.base import ClassWeights

    weights = ClassWeights(np.array([1.0, 2.0, 6.0]), start=2, per_batch=per_batch)
    batches = EpochBatches(X, Y, 3, 20, lambda rng: rng.permutation(len(Y)), seed=1, weights=weights)
    for epoch in range(4):
        batches.on_epoch_end()
        batches.epoch = epoch
        for i in range(len(batches)):
            _, onehot, per_sample = batches[i]
            if epoch < 2:
                assert np.all(per_sample == 1.0)
            else:
                expected = weights.vector[onehot.argmax(1)]
                np.testing.assert_allclose(per_sample, expected / expected.mean() if per_batch else expected, rtol=1e-6)


class EpochRecordingBatches(EpochBatches):
    def __getitem__(self, index):
        self.seen.append(self.epoch)
        return super().__getitem__(index)


@pytest.mark.parametrize("first_epoch", [0, 2])
def test_batches_know_their_epoch_on_every_backend(first_epoch):
    """On JAX and PyTorch Keras draws a batch before the first epoch; the weights' epoch must not count it."""
    from bench.training.hypermodel import fit_inputs

    batches = EpochRecordingBatches(X, Y, 3, 16, lambda rng: rng.permutation(len(Y)), seed=1, first_epoch=first_epoch)
    batches.seen = []
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(3)])
    model.compile(loss=keras.losses.CategoricalCrossentropy(from_logits=True))
    data, callbacks = fit_inputs(batches)
    model.fit(**data, callbacks=callbacks, epochs=first_epoch + 3, initial_epoch=first_epoch, verbose=0)
    per_epoch = len(batches)
    expected = [e for e in range(first_epoch, first_epoch + 3) for _ in range(per_epoch)]
    drawn = [e for e in batches.seen if e < first_epoch + 3]  # TensorFlow prefetches a batch of an epoch never run
    assert drawn[-len(expected) :] == expected


def fitted(strategy: str, fold: FoldData, epochs: int = 4, min_epochs: int = 0) -> tuple[list[np.ndarray], object]:
    _, builder = resolve_model("mlp", X.shape[1:])
    hypermodel = ImbalanceHyperModel(
        builder, resolve(strategy), fold, 1, TrainingOptions(epochs=epochs, patience=50, min_epochs=min_epochs)
    )
    hp = keras_tuner.HyperParameters()
    model = hypermodel.build(hp)
    fit = hypermodel.train(hp, model, epochs=epochs)
    return model.get_weights(), fit


def test_deferred_reweighting_changes_training_and_the_kept_epoch_has_it_on(fold):
    """On every backend (the test runs in each tox env): the weights switch on mid-fit and reach the loss."""
    with_drw, fit = fitted("ldam-drw[drw_start=0.5,scale=30.0]", fold)
    late, _ = fitted("ldam-drw[drw_start=0.75,scale=30.0]", fold)  # on for the last epoch only
    assert fit.weights_from == 2 and fit.kept_epoch >= 2
    assert not all(np.array_equal(a, b) for a, b in zip(with_drw, late, strict=True))


def test_weights_count_the_training_folds_own_labels_when_smote_synthesises_rows(fold, monkeypatch):
    """smote+class-weight used to weigh every class 1.0: weights were counted on the balanced, synthetic labels.

    resolve() now refuses that composite (it corrects twice); a strategy built directly, as here, still
    has its weights counted on the training fold's own labels."""
    seen = []
    original = Strategy.class_weights

    def spy(self, *args, **kwargs):
        seen.append(original(self, *args, **kwargs))
        return seen[-1]

    monkeypatch.setattr(Strategy, "class_weights", spy)
    part = resolve("smote[k_neighbors=1]").parts[0]
    weighting = resolve("class-weight[exponent=1.0]").parts[0]
    fitted_strategy = Strategy(("smote", "class-weight"), (part, weighting))
    _, builder = resolve_model("mlp", X.shape[1:])
    hypermodel = ImbalanceHyperModel(builder, fitted_strategy, fold, seed=1)
    hp = keras_tuner.HyperParameters()
    hypermodel.fit(hp, hypermodel.build(hp), epochs=1)
    counts = np.bincount(fold.y_train)
    np.testing.assert_allclose(seen[0].vector, counts.sum() / (3 * counts), rtol=1e-6)


@pytest.mark.parametrize(("strategy", "min_epochs", "start"), [("baseline", 3, 3), ("ldam-drw[drw_start=0.5]", 1, 2)])
def test_no_epoch_before_min_epochs_or_the_weights_start_is_kept(fold, monkeypatch, strategy, min_epochs, start):
    import bench.training.hypermodel

    starts = []
    real = bench.training.hypermodel.early_stopping  # the name the hypermodel calls
    monkeypatch.setattr(
        bench.training.hypermodel, "early_stopping", lambda patience, first: starts.append(first) or real(50, first)
    )
    fitted(strategy, fold, epochs=4, min_epochs=min_epochs)
    assert starts == [start]


def test_the_kept_epoch_is_the_best_from_min_epochs_on_and_scores_the_trial(fold):
    _, fit = fitted("baseline", fold, epochs=6, min_epochs=3)
    scores = fit.history[OBJECTIVE]
    assert fit.kept_epoch == 3 + int(np.argmax(scores[3:]))
    assert fit.kept_scores[OBJECTIVE] == scores[fit.kept_epoch]


def test_a_trial_is_scored_at_its_kept_epoch_not_its_best():
    history = {OBJECTIVE: [0.9, 0.2, 0.4, 0.3], "val_loss": [1.0, 2.0, 3.0, 4.0]}
    fit = Fit(history, [0, 1, 2, 3], kept_epoch=2, weights_from=None, optimiser_steps=8, samples_per_epoch=4,
              recall_per_class=[], confusion=[])  # fmt: skip
    assert fit.kept_scores == {OBJECTIVE: 0.4, "val_loss": 3.0}
    resumed = Fit(history, [4, 5, 6, 7], kept_epoch=6, weights_from=None, optimiser_steps=8, samples_per_epoch=4,
                  recall_per_class=[], confusion=[])  # fmt: skip
    assert resumed.kept_scores == {OBJECTIVE: 0.4, "val_loss": 3.0}, "epochs count from a resumed fit's first"


@pytest.mark.parametrize("budget", ["epochs", "steps"])
def test_a_budget_in_steps_gives_every_strategy_as_many_optimiser_steps(fold, budget):
    steps = {}
    for strategy in ("baseline", "oversample[target=1.0]"):
        _, builder = resolve_model("mlp", X.shape[1:])
        hypermodel = ImbalanceHyperModel(
            builder, resolve(strategy), fold, 1, TrainingOptions(patience=50, budget=budget)
        )
        hp = keras_tuner.HyperParameters()
        fit = hypermodel.train(hp, hypermodel.build(hp), epochs=6)
        steps[strategy] = fit.optimiser_steps
    assert steps["baseline"] == 6 * 2, "45 training rows in batches of 32"
    assert steps["oversample[target=1.0]"] == (12 if budget == "steps" else 6 * 3), "90 oversampled rows: 3 batches"


@pytest.mark.parametrize("strategy", ["class-weight[exponent=1.0]", "effective-number[beta=0.99]"])
def test_class_weights_give_the_loss_that_keras_class_weight_gives(fold, strategy):
    """On every backend: one fixed batch (mostly the head class) scores as model.fit(class_weight=...) scores it.

    That is sum(w*l)/B with weights averaging 1 over the training fold; a
    batch renormalised to mean weight 1 (sum(w*l)/sum(w)) would score higher here.
    """
    from bench.training.hypermodel import fit_inputs

    resolved = resolve(strategy)
    hp = keras_tuner.HyperParameters()
    resolved.declare(hp)
    weights = resolved.class_weights(hp, fold.y_train, 3, epochs=1)
    assert weights.vector[fold.y_train].mean() == pytest.approx(1.0)
    rows = np.concatenate([np.flatnonzero(fold.y_train == 0)[:15], np.flatnonzero(fold.y_train == 2)[:1]])

    def loss_of_one_batch(**data):
        keras.utils.set_random_seed(3)
        model = keras.Sequential([keras.Input(X.shape[1:]), keras.layers.Flatten(), keras.layers.Dense(3)])
        model.compile(optimizer=keras.optimizers.SGD(0.0), loss=keras.losses.CategoricalCrossentropy(from_logits=True))
        return model.fit(**data, epochs=1, verbose=0).history["loss"][0]

    batches = EpochBatches(fold.x_train, fold.y_train, 3, len(rows), lambda rng: rows, seed=1, weights=weights)
    data, callbacks = fit_inputs(batches)
    ours = loss_of_one_batch(**data, callbacks=callbacks)
    keras_own = loss_of_one_batch(
        x=fold.x_train[rows],
        y=np.eye(3, dtype="float32")[fold.y_train[rows]],
        batch_size=len(rows),
        shuffle=False,
        class_weight={c: float(w) for c, w in enumerate(weights.vector)},
    )
    assert ours == pytest.approx(keras_own, rel=1e-5)
    assert weights.vector[fold.y_train[rows]].mean() < 0.9, "a batch whose weights do not average 1"
