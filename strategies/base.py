"""What a strategy may change, and how parts combine into a composite.

A strategy acts through seven hooks (the table `HOOKS` below): the train/val
split, the data seen per epoch, the loss weights, the loss, the model's
starting point, a second stage retraining the classifier layer alone, and
the post-hoc decision. A part's hooks are the ones whose
methods it overrides; a composite such as ``stratify+class-weight`` is the
union of its parts, and two parts changing the same hook are refused because
the result would depend on which one silently won.

Each part class declares what it is (name, description, reference, version,
parameters with their ranges), as imbalanced-learn estimators declare their
parameter constraints, so the registry and `bench list` read the classes.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from bench.errors import UserError
from bench.records import Classifier
from bench.registry import Entry, Param, Parameter, Tunable
from bench.specs import Spec

# One epoch's order of training-fold indices, drawn from a seeded generator.
Sampler = Callable[[np.random.Generator], np.ndarray]


class NotApplicable(Exception):
    """The strategy cannot run on this data (e.g. SMOTE on a class with one sample).

    The cell is recorded as skipped with this message, and the study goes on.
    """


@dataclass(frozen=True)
class ClassWeights:
    """Loss weights per class (indexed by class), counted from the training fold's own labels.

    `start` is the first epoch (0-based) they apply; before it every sample
    weighs 1 (deferred re-weighting, Cao et al. 2019). With `per_batch`, each
    batch's weights are scaled to mean 1 (the loss is sum(w*l)/sum(w)); without,
    the loss is sum(w*l)/B, as Keras's `class_weight=` computes it.
    """

    vector: np.ndarray
    start: int = 0
    per_batch: bool = False


@dataclass(frozen=True)
class ClassifierStage:
    """A second training stage (Kang et al. 2020's cRT): after the model has trained, its logits layer is
    re-initialised and trained alone, every other layer frozen, for `epochs` epochs in the `sampler`'s order."""

    epochs: int
    sampler: Sampler


def log_prior(y_train: np.ndarray, num_classes: int) -> np.ndarray:
    """log of the training-fold class frequencies; an absent class counts as half a sample."""
    counts = np.bincount(y_train, minlength=num_classes).astype("float64")
    counts[counts == 0] = 0.5
    return np.log(counts / counts.sum())


def hyperparameter(hp: Any, name: str, value: Param) -> Any:
    """Register a tunable or fixed hyperparameter (idempotent) and return its value."""
    if isinstance(value, Tunable):
        return hp.Choice(name, list(value.choices))
    return hp.Fixed(name, value)


class LargestChoices:
    """Answers a part's hyperparameter lookups with the largest tuned choice (the latest deferred start)."""

    def Choice(self, name: str, values: list[Any], **kwargs: Any) -> Any:  # keras-tuner's method name
        return max(values)

    def Fixed(self, name: str, value: Any) -> Any:  # keras-tuner's method name
        return value


# The method (or property) a part overrides -> the hook it changes. Methods not here (callbacks, skip) claim none.
HOOKS: dict[str, str] = {
    "stratified": "split",
    "sampler": "data",
    "resample": "data",
    "class_weight": "weights",
    "weights_start": "weights",
    "loss": "loss",
    "init_model": "init",
    "retrain_classifier": "classifier",
    "posthoc": "posthoc",
}


_DERIVED_PRIOR: set[type] = set()  # parts whose corrects_prior was derived from their hooks, not declared


class StrategyPart:
    """One family's contribution; every hook defaults to "no change".

    Subclasses declare the class variables below and override the methods of
    the hooks they change; `hooks` is derived from those overrides. A part
    keeps its parameter values in `params`; hyperparameters are named
    `<prefix>_<key>` so the search space shows which strategy owns each one.
    """

    name: ClassVar[str] = ""  # what specs call it: lower-case words joined by '-'
    description: ClassVar[str] = ""  # one line for `bench list`
    reference: ClassVar[str] = ""  # the paper or library it follows
    version: ClassVar[int] = 0  # from 1; raise it when a change alters results
    parameters: ClassVar[dict[str, Parameter]] = {}
    prefix: ClassVar[str] = ""  # of its hyperparameter names; empty: the name with '_' for '-'
    hooks: ClassVar[frozenset[str]] = frozenset()
    # Whether it corrects the training prior (re-weights, rebalances or divides by the class frequencies): a
    # composite may hold one such part, or the same imbalance is corrected twice (strategies.resolve refuses it).
    # Undeclared, a part that changes the weights or the data does (a user's class keeps that protection).
    corrects_prior: ClassVar[bool] = False
    # Class weights normalised per batch, sum(w*l)/sum(w) (PyTorch's weighted cross-entropy, LDAM-DRW's reference
    # code); False: Keras's class_weight=, sum(w*l)/B with weights averaging 1 over the training fold.
    weights_per_batch: ClassVar[bool] = False
    # Only ever a strategy of its own (the reference row): a composite holding it is refused.
    alone: ClassVar[bool] = False
    # Its posthoc reads the trained model's last layer (the `classifier` argument): a stored model from before that
    # was recorded is trained again rather than reused.
    reads_classifier: ClassVar[bool] = False
    # The library and release a part wraps ('imbalanced-learn 0.14.2'): part of its version, so an upgrade reruns it.
    library: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "hooks" in vars(cls):
            raise TypeError(f"{cls.__name__}: hooks come from the methods it overrides (strategies.base.HOOKS)")
        cls.hooks = derived_hooks(cls)
        declared = (base for base in cls.__mro__ if "corrects_prior" in vars(base) and base is not StrategyPart)
        if all(base in _DERIVED_PRIOR for base in declared):
            cls.corrects_prior = bool(cls.hooks & {"weights", "data"})
            _DERIVED_PRIOR.add(cls)

    def __init__(self, **params: Param) -> None:
        self.params = params

    @classmethod
    def entry(cls, name: str = "") -> Entry[StrategyPart]:
        """The registry's view of the class, under `name` if given (a user's part: its path:Class as written)."""
        return Entry(
            name or cls.name,
            cls.description,
            cls,
            {key: p.default for key, p in cls.parameters.items()},
            cls.reference,
            bounds={key: p.bounds for key, p in cls.parameters.items() if p.bounds is not None},
            options={key: p.options for key, p in cls.parameters.items() if p.options},
        )

    def hp_name(self, key: str) -> str:
        return f"{self.prefix or self.name.replace('-', '_')}_{key}"

    def value(self, hp: Any, key: str) -> Any:
        return hyperparameter(hp, self.hp_name(key), self.params[key])

    def declare(self, hp: Any) -> None:
        for key in self.params:
            self.value(hp, key)

    @property
    def stratified(self) -> bool:
        return False

    def loss(self, hp: Any, y_train: np.ndarray, num_classes: int) -> Any:
        return None

    def class_weight(self, hp: Any, y_train: np.ndarray) -> dict[int, float] | None:
        return None

    def weights_start(self, hp: Any, epochs: int) -> int:
        """The epoch from which `class_weight` applies (deferred re-weighting); 0: from the start."""
        return 0

    def sampler(self, hp: Any, y_train: np.ndarray) -> Sampler | None:
        return None

    def resample(self, hp: Any, x_train: np.ndarray, y_train: np.ndarray, seed: int) -> tuple[np.ndarray, ...] | None:
        """New training arrays, for samplers that synthesise samples (SMOTE); once per fit."""
        return None

    def callbacks(self, hp: Any, y_train: np.ndarray, num_classes: int) -> list[Any]:
        return []

    def init_model(self, model: Any, hp: Any, y_train: np.ndarray, num_classes: int) -> Any:
        """The model to train: the freshly built one, changed (its output bias) or extended (a cosine classifier)."""
        return model

    def retrain_classifier(self, hp: Any, y_train: np.ndarray) -> ClassifierStage | None:
        """A second stage after training that retrains the logits layer alone on the frozen features; None: none."""
        return None

    def posthoc(
        self, val_logits: np.ndarray, y_val: np.ndarray, y_train: np.ndarray, classifier: Classifier | None
    ) -> dict[str, Any] | None:
        """How the logits become a decision at prediction time, chosen on validation data.

        `classifier` is the trained model's logits layer (its per-class weight
        norms and bias), None when the model's last layer is not a Dense of
        one unit per class. Returns {"offsets": array of shape (num_classes,),
        **chosen values}, with an optional "scale" of the same shape: the
        logits become logits * scale + offsets.
        """
        return None

    def skip(self, train_counts: np.ndarray) -> str | None:
        """Why the part cannot run on a fold with these per-class training counts, or None.

        Asked when a study is planned (benchopt's skip), so a cell that could
        only fail is known before any training; the reason is what a user reads.
        """
        return None


def overrides(cls: type[StrategyPart], method: str) -> bool:
    return getattr(cls, method) is not getattr(StrategyPart, method)


def derived_hooks(cls: type[StrategyPart]) -> frozenset[str]:
    return frozenset(hook for method, hook in HOOKS.items() if overrides(cls, method))


_NAME = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
_TYPES = (bool, int, float, str)


def declaration_problem(cls: type[StrategyPart]) -> str | None:
    """The first way `cls` is not declared like the built-ins, as '<check>: <problem and fix>'; None if none.

    Run when a user's class is named (before anything is written) and by
    strategies.testing.check_strategy, so a badly declared class is refused
    with a sentence rather than failing mid-study.
    """
    for key in ("name", "description", "reference", "version"):
        if key not in vars(cls):
            return f"declaration: declare {key} on {cls.__name__} itself, as the built-in strategies do"
    for key in ("name", "description", "reference"):
        if not isinstance(value := vars(cls)[key], str) or not value:
            return f"declaration: {key} must be a non-empty str, got {value!r}"
    if not _NAME.fullmatch(cls.name):
        return f"declaration: name {cls.name!r} must be lower-case letters and digits joined by '-'"
    if not isinstance(cls.version, int) or isinstance(cls.version, bool) or cls.version < 1:
        return f"declaration: version must be an int from 1, raised when a change alters results; got {cls.version!r}"
    for key in ("corrects_prior", "weights_per_batch", "alone", "reads_classifier"):
        if not isinstance(value := getattr(cls, key), bool):
            return f"declaration: {key} must be True or False, got {value!r}"
    if not isinstance(cls.library, str):
        return f"declaration: library must be a str naming the wrapped library and release, got {cls.library!r}"
    if problem := _parameters_problem(cls):
        return f"parameters: {problem}"
    return _hooks_problem(cls)


def _parameters_problem(cls: type[StrategyPart]) -> str | None:
    if not isinstance(cls.parameters, dict):
        return f"declare parameters as a dict of name -> Parameter, got {type(cls.parameters).__name__}"
    for key, declared in cls.parameters.items():
        if not isinstance(declared, Parameter):
            return f"'{key}' must be declared as bench.registry.Parameter(default, Bounds(...)), got {declared!r}"
        values = declared.default.choices if isinstance(declared.default, Tunable) else (declared.default,)
        if not values or declared.kind not in _TYPES or any(type(v) is not declared.kind for v in values):
            return f"'{key}' needs a default (or Tunable choices) all of one type of bool, int, float, str"
        if (declared.bounds is None) != (declared.kind in (bool, str)):
            return f"'{key}' is {declared.kind.__name__}: declare Bounds for a number, none for a bool or str"
        if declared.options and declared.kind is not str:
            return f"'{key}' is {declared.kind.__name__}: options are for a str parameter; declare Bounds instead"
    try:
        cls.entry().arguments(Spec(cls.name))  # every default and tuned choice within its bounds
        inspect.signature(cls).bind(**cls.parameters)
    except UserError as exc:
        return str(exc)
    except TypeError as exc:
        return f"{cls.__name__}(**parameters) fails ({exc}); accept every declared parameter as a keyword"
    return None


def _hooks_problem(cls: type[StrategyPart]) -> str | None:
    if cls.hooks != (derived := derived_hooks(cls)):
        return f"hooks: {sorted(cls.hooks)} set by hand, its overridden methods change {sorted(derived)}"
    for method in [*HOOKS, "callbacks", "skip"]:
        if method == "stratified" or not overrides(cls, method):
            continue
        given, expected = (list(inspect.signature(getattr(c, method)).parameters) for c in (cls, StrategyPart))
        if given != expected:
            return (
                f"hooks: {cls.__name__}.{method} takes ({', '.join(given)}); "
                f"keep StrategyPart's ({', '.join(expected)})"
            )
    return None


@dataclass(frozen=True)
class Strategy:
    """A named composite of parts; the harness calls only these methods."""

    labels: tuple[str, ...]  # canonical spec of each part, e.g. ("stratify", "focal[gamma=2.0]")
    parts: tuple[StrategyPart, ...]

    @property
    def name(self) -> str:
        return "+".join(self.labels)

    @property
    def version(self) -> str:
        """Its parts' versions (and the library a part wraps): a changed one gives the strategy's cells and search
        new keys, so only they rerun."""
        return "+".join(
            f"{type(part).version}@{type(part).library}" if type(part).library else str(type(part).version)
            for part in self.parts
        )

    @property
    def stratified(self) -> bool:
        return any(part.stratified for part in self.parts)

    def declare(self, hp: Any) -> None:
        """Put every part's hyperparameters in the search space."""
        for part in self.parts:
            part.declare(hp)

    def loss(self, hp: Any, y_train: np.ndarray, num_classes: int) -> Any:
        """The training loss on logits; plain cross-entropy unless a part sets one."""
        for part in self.parts:
            if (loss := part.loss(hp, y_train, num_classes)) is not None:
                return loss
        import keras

        return keras.losses.CategoricalCrossentropy(from_logits=True)

    def class_weights(self, hp: Any, y_train: np.ndarray, num_classes: int, epochs: int) -> ClassWeights | None:
        """The weighting part's weights as a vector over all classes (absent ones weigh 1), with their start epoch.

        Unless the part normalises per batch, the vector is scaled so the
        training fold's samples weigh 1 on average: the loss is then what
        `model.fit(class_weight=...)` computes, and the effective learning rate
        does not jump when deferred weights switch on.
        """
        for part in self.parts:
            if weights := part.class_weight(hp, y_train):
                vector = np.ones(num_classes)
                vector[list(weights)] = list(weights.values())
                if not part.weights_per_batch:
                    vector = vector / vector[y_train].mean()
                return ClassWeights(vector, part.weights_start(hp, epochs), part.weights_per_batch)
        return None

    def latest_weights_start(self, epochs: int) -> int:
        """The latest epoch its weights may switch on, over every tuned choice (hyperband's rounds must pass it)."""
        starts = [part.weights_start(LargestChoices(), epochs) for part in self.parts if "weights" in part.hooks]
        return max(starts, default=0)

    def sampler(self, hp: Any, y_train: np.ndarray) -> Sampler:
        """Per-epoch index order; a shuffled pass over the fold unless a part resamples."""
        for part in self.parts:
            if (draw := part.sampler(hp, y_train)) is not None:
                return draw
        return lambda rng: rng.permutation(len(y_train))

    def resample(self, hp: Any, x_train: np.ndarray, y_train: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
        for part in self.parts:
            if (arrays := part.resample(hp, x_train, y_train, seed)) is not None:
                return arrays[0], arrays[1]
        return x_train, y_train

    def callbacks(self, hp: Any, y_train: np.ndarray, num_classes: int) -> list[Any]:
        return [callback for part in self.parts for callback in part.callbacks(hp, y_train, num_classes)]

    def init_model(self, model: Any, hp: Any, y_train: np.ndarray, num_classes: int) -> Any:
        for part in self.parts:
            model = part.init_model(model, hp, y_train, num_classes)
        return model

    def retrain_classifier(self, hp: Any, y_train: np.ndarray) -> ClassifierStage | None:
        return next((stage for part in self.parts if (stage := part.retrain_classifier(hp, y_train))), None)

    @property
    def retrains_classifier(self) -> bool:
        return any("classifier" in part.hooks for part in self.parts)

    @property
    def reads_classifier(self) -> bool:
        """Whether its post-hoc decision reads the trained model's last layer (Classifier.from_history)."""
        return any(part.reads_classifier for part in self.parts)

    def skip(self, train_counts: np.ndarray) -> str | None:
        """The first part's reason it cannot run on a fold with these per-class training counts, or None."""
        return next((reason for part in self.parts if (reason := part.skip(train_counts))), None)

    @property
    def adds_callbacks(self) -> bool:
        """Whether a part watches training with callbacks, which may change the model as it trains."""
        return any(overrides(type(part), "callbacks") for part in self.parts)

    @property
    def posthoc_part(self) -> StrategyPart | None:
        return next((p for p in self.parts if "posthoc" in p.hooks), None)

    def trained(self) -> Strategy:
        """The strategy whose model this one predicts with: itself without post-hoc parts.

        A post-hoc-only strategy trains like `baseline`, so it can reuse baseline's models.
        """
        kept = [(label, p) for label, p in zip(self.labels, self.parts, strict=True) if "posthoc" not in p.hooks]
        if not kept:
            return Strategy(("baseline",), ())
        return Strategy(tuple(label for label, _ in kept), tuple(p for _, p in kept))
