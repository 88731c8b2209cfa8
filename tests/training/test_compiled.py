import keras
import keras_tuner
import numpy as np
import pytest

from bench.backend import reads_fold_statistics_as_variables
from bench.config import TrainingOptions
from bench.training import compiled as compiled_module
from bench.training.compiled import CompiledModels, structure_key
from bench.training.hypermodel import FoldData, ImbalanceHyperModel
from bench.training.models import mlp
from strategies import resolve
from strategies.base import Strategy, StrategyPart

pytestmark = pytest.mark.backend

RNG = np.random.default_rng(0)
X = RNG.normal(size=(90, 6)).astype("float32")
Y = np.array([0] * 60 + [1] * 22 + [2] * 8)
VAL = np.arange(0, len(Y), 4)
TRAIN = np.setdiff1d(np.arange(len(Y)), VAL)
OTHER = np.setdiff1d(TRAIN, TRAIN[:6])  # another fold: other statistics
OPTIONS = TrainingOptions(epochs=4, patience=2, min_epochs=1)


def fold(rows: np.ndarray = TRAIN) -> FoldData:
    return FoldData(X[rows], Y[rows], X[VAL], Y[VAL], 3)


def hyperparameters(**values: object) -> keras_tuner.HyperParameters:
    hp = keras_tuner.HyperParameters()
    for name, value in {"mlp_layers": 1, "mlp_units_0": 64, "dropout": 0.2, "batch_size": 16, **values}.items():
        hp.Fixed(name, value)
    return hp


def trained(
    strategy: Strategy, compiled: CompiledModels, seed: int = 1, rows: np.ndarray = TRAIN, **values: object
) -> list[np.ndarray]:
    hypermodel = ImbalanceHyperModel(mlp, strategy, fold(rows), seed, OPTIONS, compiled=compiled)
    hp = hyperparameters(**values)
    model = hypermodel.build(hp)
    hypermodel.fit(hp, model, epochs=OPTIONS.epochs)
    return [keras.ops.convert_to_numpy(v) for v in model.variables]


@pytest.mark.parametrize("name", ["baseline", "class-weight", "oversample", "focal", "ldam-drw"])
def test_a_reused_compiled_model_ends_with_the_weights_of_a_fresh_build(name):
    """Weights, dropout seeds and the order of the batches: all as a fresh build gives them, bit for bit."""
    strategy = resolve(name)
    other = 3.0 if name == "focal" else None
    kept = CompiledModels()
    trained(strategy, kept, seed=7, learning_rate=1e-2, **({"focal_gamma": 2.0} if other else {}))
    assert (kept.hits, kept.misses) == (0, 1)
    values = {"learning_rate": 3e-3, **({"focal_gamma": 2.0} if other else {})}
    reused = trained(strategy, kept, **values)
    assert kept.hits == 1, "the second fit trained the kept model"
    fresh = trained(strategy, CompiledModels(capacity=0), **values)
    assert len(reused) == len(fresh)
    assert all(np.array_equal(a, b) for a, b in zip(reused, fresh, strict=True))


def test_under_mixed_precision_a_second_build_trains_the_kept_model_to_a_fresh_builds_weights():
    """Under mixed precision Keras wraps Adam in a loss-scaling optimizer: its step counter and scale are state too."""
    options = TrainingOptions(epochs=2, patience=2, min_epochs=1, mixed_precision=True)
    kept, fresh = CompiledModels(), CompiledModels(capacity=0)
    weights = []
    try:
        for compiled, seed in ((kept, 7), (kept, 1), (fresh, 1)):
            hypermodel = ImbalanceHyperModel(mlp, resolve("baseline"), fold(), seed, options, compiled=compiled)
            hp = hyperparameters()
            model = hypermodel.build(hp)
            hypermodel.fit(hp, model, epochs=options.epochs)
            weights.append([keras.ops.convert_to_numpy(v) for v in [*model.variables, *model.optimizer.variables]])
    finally:
        keras.config.set_dtype_policy("float32")
    assert (kept.hits, kept.misses) == (1, 1)
    assert len(weights[1]) == len(weights[2])
    assert all(np.array_equal(a, b) for a, b in zip(weights[1], weights[2], strict=True))


def built(
    strategy: Strategy, rows: np.ndarray = TRAIN, compiled: CompiledModels | None = None, **values: object
) -> keras.Model:
    compiled = CompiledModels(capacity=0) if compiled is None else compiled
    hypermodel = ImbalanceHyperModel(mlp, strategy, fold(rows), 1, OPTIONS, compiled=compiled)
    return hypermodel.build(hyperparameters(**values))


def key(*args: object, **values: object) -> str | None:
    model = built(*args, **values)
    return structure_key(model, model.loss, model.optimizer)


def test_the_key_holds_what_a_trace_captures_and_not_the_weights():
    baseline = key(resolve("baseline"))
    assert baseline == key(resolve("oversample")), "same model and loss: the sampler is data"
    assert baseline == key(resolve("baseline"), learning_rate=5e-3), "a variable of the optimiser"
    assert baseline != key(resolve("baseline"), dropout=0.3)
    assert baseline != key(resolve("focal[gamma=2.0]"))
    assert key(resolve("focal[gamma=2.0]")) != key(resolve("focal[gamma=3.0]"))
    # Fold statistics are variables (FoldNormalization), except on JAX (Keras's Normalization: constants).
    assert (baseline == key(resolve("baseline"), OTHER)) == reads_fold_statistics_as_variables()


def test_the_statistics_of_kerass_own_normalization_are_in_the_key():
    def normalised(x_train: np.ndarray) -> keras.Model:
        keras.backend.clear_session()  # the same layer names each time
        inputs = keras.Input((6,))
        layer = keras.layers.Normalization()
        model = keras.Model(inputs, keras.layers.Dense(3)(layer(inputs)))
        layer.adapt(x_train)
        return model

    def normalised_key(x_train: np.ndarray) -> str | None:
        return structure_key(normalised(x_train), keras.losses.CategoricalCrossentropy(), keras.optimizers.Adam())

    assert normalised_key(X[TRAIN]) == normalised_key(X[TRAIN])
    assert normalised_key(X[TRAIN]) != normalised_key(X[OTHER]), "a trace captures them"


def test_a_hit_compiles_nothing(monkeypatch):
    compiles = []
    real = compiled_module.compile_with_optimizer_built
    monkeypatch.setattr(compiled_module, "compile_with_optimizer_built", lambda *a: compiles.append(real(*a)))
    kept = CompiledModels()
    first = built(resolve("baseline"), compiled=kept)
    assert built(resolve("baseline"), compiled=kept, learning_rate=5e-3) is first
    assert len(compiles) == 1 and (kept.hits, kept.misses) == (1, 1)


def test_a_model_compiled_when_jit_compile_resolved_otherwise_is_not_reused(monkeypatch):
    """Keras resolves jit_compile="auto" from the process's state too (devices; TensorFlow's op determinism)."""
    kept = CompiledModels()
    first = built(resolve("baseline"), compiled=kept)
    monkeypatch.setattr(keras.Model, "_resolve_auto_jit_compile", lambda model: not first.jit_compile)
    second = built(resolve("baseline"), compiled=kept)
    assert second is not first and second.jit_compile != first.jit_compile and kept.hits == 0


def test_a_model_kept_from_another_fold_trains_as_a_fresh_build_on_this_one():
    kept = CompiledModels()
    trained(resolve("baseline"), kept, rows=OTHER)
    reused = trained(resolve("baseline"), kept)
    assert kept.hits == int(reads_fold_statistics_as_variables())
    fresh = trained(resolve("baseline"), CompiledModels(capacity=0))
    assert all(np.array_equal(a, b) for a, b in zip(reused, fresh, strict=True))


@pytest.mark.skipif(keras.backend.backend() == "torch", reason="PyTorch runs eagerly: there is no trace to share")
def test_weighted_and_unweighted_strategies_share_a_kept_models_traced_step(monkeypatch):
    """Class weights ride in every strategy's batches (1 without them), so they add no second trace."""
    traced = []
    step = type(built(resolve("baseline"))).train_step

    def counting(model, *state_and_data):  # JAX passes the state first
        traced.append(len(state_and_data[-1]))  # a traced step runs its Python once per trace
        return step(model, *state_and_data)

    monkeypatch.setattr(keras.Model, "train_step", counting)
    kept = CompiledModels()
    trained(resolve("baseline"), kept)
    first = len(traced)
    trained(resolve("class-weight"), kept)
    assert kept.hits == 1 and first > 0 and len(traced) == first, traced


class Doubled(keras.layers.Layer):
    def call(self, inputs):
        return 2.0 * inputs


def test_a_model_with_a_layer_of_another_package_is_never_kept():
    inputs = keras.Input((6,))
    model = keras.Model(inputs, keras.layers.Dense(3)(Doubled()(inputs)))
    loss, optimizer = keras.losses.CategoricalCrossentropy(from_logits=True), keras.optimizers.Adam()
    assert structure_key(model, loss, optimizer) is None
    kept = CompiledModels()
    assert kept.compiled(model, optimizer, loss) is model and not kept.models
    assert model.optimizer is optimizer, "compiled all the same"


class Watching(StrategyPart):
    name = "watching"
    description = "a part with a callback"
    reference = "a test"

    def callbacks(self, hp, y_train, num_classes):
        return [keras.callbacks.Callback()]


def test_a_strategy_with_callbacks_trains_a_model_of_its_own():
    kept = CompiledModels()
    strategy = Strategy(("watching",), (Watching(),))
    trained(strategy, kept)
    trained(strategy, kept)
    assert (kept.hits, kept.misses, len(kept.models)) == (0, 0, 0)


def test_a_kept_model_changed_since_is_not_reused():
    kept = CompiledModels()
    model = built(resolve("baseline"), compiled=kept)
    model.layers[-1].trainable = False
    again = built(resolve("baseline"), compiled=kept)
    assert again is not model and (kept.hits, kept.misses) == (0, 2)
    assert built(resolve("baseline"), compiled=kept) is again and kept.hits == 1
    again.compile(optimizer=keras.optimizers.Adam(beta_1=0.5), loss=again.loss)
    assert built(resolve("baseline"), compiled=kept) is not again and (kept.hits, kept.misses) == (1, 3)
