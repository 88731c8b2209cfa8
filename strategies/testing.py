"""The checks every strategy passes, for a user's own class too (after imbalanced-learn's check_estimator).

    from strategies.testing import check_strategy
    check_strategy(MyWeights, power=0.5)

runs, on a small synthetic fold, what the registry-wide tests run on every
built-in: the class is declared like the built-ins, its hooks use only the
training fold and leave the fold's arrays as they were, and the same seed
gives the same model. The first failure raises AssertionError naming the check.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

import keras_tuner
import numpy as np

from bench.errors import UserError
from bench.records import Classifier
from bench.specs import Spec, Value
from bench.training.batches import EpochBatches
from bench.training.callbacks import ValidationMetrics
from bench.training.hypermodel import FoldData, ImbalanceHyperModel
from bench.training.models import predict_logits, resolve_model
from strategies.base import ClassifierStage, NotApplicable, Sampler, Strategy, StrategyPart, declaration_problem

SEED = 7


def toy_fold(num_classes: int) -> FoldData:
    """Imbalanced toy data (40/12/8 samples, a quarter to validation, 6 features).

    Feature 0 marks the split (0 train, 1 validation), so a validation row
    that reaches training is visible in the batch.
    """
    rng = np.random.default_rng(num_classes)
    counts = [40, 12, 8][:num_classes]
    y = np.repeat(np.arange(num_classes), counts)
    x = rng.normal(size=(len(y), 6)).astype("float32") + y[:, None]
    val = np.arange(0, len(y), 4)
    train = np.setdiff1d(np.arange(len(y)), val)
    x[val, 0] = 1.0
    x[train, 0] = 0.0
    return FoldData(x[train], y[train], x[val], y[val], num_classes)


def toy_hypermodel(strategy: Strategy, fold: FoldData, seed: int = 1) -> ImbalanceHyperModel:
    """The harness's hypermodel for `strategy` on `fold`, with the built-in mlp."""
    _, builder = resolve_model("mlp", fold.x_train.shape[1:])
    return ImbalanceHyperModel(builder, strategy, fold, seed)


def check_strategy(cls: type, **params: Value) -> None:
    """Run every common check on `cls` (a StrategyPart subclass) with `params` set; AssertionError on the first failure.

    A user's class passes them before a study trusts its numbers, as the
    built-ins do in the registry-wide tests.
    """
    if not (isinstance(cls, type) and issubclass(cls, StrategyPart)):
        raise AssertionError(f"subclass: {cls!r} is not a strategies.StrategyPart subclass")
    name = cls.__name__
    if problem := declaration_problem(cls):
        raise AssertionError(f"{name}: {problem}")
    entry = cls.entry()
    try:
        spec = entry.canonical(Spec(cls.name, tuple(sorted(params.items()))))
    except UserError as exc:
        raise AssertionError(f"{name}: parameters: {exc}") from None
    fold = toy_fold(3)
    counts = np.bincount(fold.y_train, minlength=fold.num_classes)
    part = entry.create(spec)
    reason = part.skip(counts)
    _expect(reason is None or isinstance(reason, str), name, "skip", f"must return None or a reason, got {reason!r}")
    _expect(reason is None, name, "skip", f"refuses the check's fold (training counts {counts.tolist()}): {reason}")
    _check_hook_outputs(part, fold, name)
    label = str(spec)
    _fit_on_training_rows_only(Strategy((label,), (entry.create(spec),)), toy_fold(2), name)
    first, second = [
        _fit_on_training_rows_only(Strategy((label,), (entry.create(spec),)), fold, name, SEED) for _ in range(2)
    ]
    difference = float(np.abs(first - second).max())
    _expect(
        difference == 0.0,
        name,
        "same seed, same logits",
        f"two 1-epoch fits with seed {SEED} differ by up to {difference:.3g}; draw randomness only from the "
        "seed and generator the harness passes (resample's seed, the sampler's rng)",
    )


def _expect(ok: bool, name: str, check: str, problem: str) -> None:
    if not ok:
        raise AssertionError(f"{name}: {check}: {problem}")


def _check_hook_outputs(part: StrategyPart, fold: FoldData, name: str) -> None:
    """Weights, epoch orders and post-hoc offsets, asked of the part directly on the training labels."""
    hp = keras_tuner.HyperParameters()
    hp.Fixed("batch_size", 16)  # the harness declares it before asking for a sampler
    y, classes = fold.y_train, fold.num_classes
    if weights := part.class_weight(hp, y):
        valid = all(0 <= c < classes and np.isfinite(w) and w > 0 for c, w in weights.items())
        _expect(valid, name, "class_weight", f"must map classes 0..{classes - 1} to positive weights, got {weights}")
        swapped = part.class_weight(hp, np.choose(y, [2, 1, 0])) or {}
        _expect(
            np.allclose([swapped.get(c, 1.0) for c in (2, 1, 0)], [weights.get(c, 1.0) for c in range(3)]),
            name,
            "class_weight",
            f"weights must come from the training labels it is given: relabelling classes 0 and 2 should swap "
            f"their weights, got {weights} then {swapped}",
        )
    if (draw := part.sampler(hp, y)) is not None:
        _check_order(draw, len(y), name, "sampler")
    if (stage := part.retrain_classifier(hp, y)) is not None:
        epochs = getattr(stage, "epochs", None)
        _expect(
            isinstance(stage, ClassifierStage) and isinstance(epochs, int) and epochs >= 1,
            name,
            "retrain_classifier",
            f"must return None or ClassifierStage(epochs >= 1, sampler), got {stage!r}",
        )
        _check_order(stage.sampler, len(y), name, "retrain_classifier")
    rng = np.random.default_rng(0)
    classifier = Classifier(norms=rng.uniform(0.5, 2.0, classes), bias=rng.normal(size=classes))
    chosen = part.posthoc(rng.normal(size=(len(fold.y_val), classes)), fold.y_val, y, classifier)
    shapes = [np.shape(chosen.get(key, np.ones(classes))) for key in ("offsets", "scale")] if chosen else []
    _expect(
        chosen is None or ("offsets" in chosen and shapes == [(classes,), (classes,)]),
        name,
        "posthoc",
        f"must return None or {{'offsets': array of shape ({classes},), optional 'scale' of that shape, ...}}, "
        f"got {chosen!r}",
    )


def _check_order(draw: Sampler, rows: int, name: str, hook: str) -> None:
    order = np.asarray(draw(np.random.default_rng(0)))
    inside = np.issubdtype(order.dtype, np.integer) and (len(order) == 0 or 0 <= order.min() <= order.max() < rows)
    _expect(
        inside,
        name,
        hook,
        f"an epoch's order must be integer row indices in [0, {rows}) of the training fold, got "
        f"{order.dtype} from {order.min(initial=0)} to {order.max(initial=0)}",
    )


def _fit_on_training_rows_only(strategy: Strategy, fold: FoldData, name: str, seed: int = 1) -> np.ndarray:
    """One epoch through the harness, watching its batches; the validation logits it ends with."""
    arrays = (fold.x_train, fold.y_train, fold.x_val, fold.y_val)
    before = [array.copy() for array in arrays]
    batches: list[np.ndarray] = []
    scored: list[np.ndarray] = []
    hypermodel = toy_hypermodel(strategy, fold, seed)
    hp = keras_tuner.HyperParameters()
    with _watching(batches, scored):
        try:
            model = hypermodel.build(hp)
            fit = hypermodel.train(hp, model, epochs=1)
        except NotApplicable as exc:
            raise AssertionError(f"{name}: trains: refused the check's fold: {exc}") from None
    rows = np.concatenate([batch[:, 0] for batch in batches]) if batches else np.zeros(0)
    _expect(
        len(rows) > 0 and bool(np.all(rows == 0.0)), name, "training rows only", "a validation row reached training"
    )
    same = [np.array_equal(b, a) for b, a in zip(before, arrays, strict=True)]
    _expect(all(same[2:]), name, "validation untouched", "the fit changed the validation arrays in place")
    _expect(
        all(same[:2]),
        name,
        "training fold untouched",
        "the fit changed the training arrays in place; work on a copy, since one fold serves every trial",
    )
    _expect(all(x is fold.x_val for x in scored), name, "validation untouched", "validation scored other arrays")
    loss = fit.history["loss"][0]
    _expect(bool(np.isfinite(loss)), name, "trains", f"the loss after one epoch is {loss}")
    return predict_logits(model, fold.x_val)


@contextmanager
def _watching(batches: list[np.ndarray], scored: list[np.ndarray]) -> Iterator[None]:
    """Record the features of every training batch the harness draws, and the validation arrays it scores."""
    original = EpochBatches.__getitem__
    monitor = ValidationMetrics.__init__

    def scoring(self: ValidationMetrics, x_val: np.ndarray, *args: object, **kwargs: object) -> None:
        scored.append(x_val)
        monitor(self, x_val, *args, **kwargs)

    def spy(self: EpochBatches, index: int) -> tuple[np.ndarray, ...]:
        batch = original(self, index)
        batches.append(batch[0])
        return batch

    with mock.patch.object(EpochBatches, "__getitem__", spy), mock.patch.object(ValidationMetrics, "__init__", scoring):
        yield
