"""What a strategy may change, and how parts combine into a composite.

A strategy acts through four hooks (the table in DESIGN.md): the train/val
split, the batches seen per epoch, the class weights, and the loss. Each part
says which hooks it uses; a composite such as ``stratify+class-weight`` is the
union of its parts, and two parts claiming the same hook are refused because
the result would depend on which one silently won.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from bench.registry import Param, Tunable

# One epoch's order of training-fold indices, drawn from a seeded generator.
Sampler = Callable[[np.random.Generator], np.ndarray]


class NotApplicable(Exception):
    """The strategy cannot run on this data (e.g. SMOTE on a class with one sample).

    The cell is recorded as skipped with this message, and the study goes on.
    """


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


class StrategyPart:
    """One family's contribution; every hook defaults to "no change".

    Subclasses set `hooks` to the hooks they override and keep their
    parameters in `params`; hyperparameters are named `<prefix>_<key>` so the
    search space shows which strategy owns each one.
    """

    hooks: ClassVar[frozenset[str]] = frozenset()
    prefix: ClassVar[str] = ""

    def __init__(self, **params: Param) -> None:
        self.params = params

    def value(self, hp: Any, key: str) -> Any:
        return hyperparameter(hp, f"{self.prefix}_{key}", self.params[key])

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

    def sampler(self, hp: Any, y_train: np.ndarray) -> Sampler | None:
        return None

    def resample(self, hp: Any, x_train: np.ndarray, y_train: np.ndarray, seed: int) -> tuple[np.ndarray, ...] | None:
        """New training arrays, for samplers that synthesise samples (SMOTE); once per fit."""
        return None

    def callbacks(self, hp: Any, y_train: np.ndarray, num_classes: int) -> list[Any]:
        return []

    def init_model(self, model: Any, hp: Any, y_train: np.ndarray, num_classes: int) -> None:
        """Change a freshly built model in place (e.g. its output bias)."""

    def posthoc(self, val_logits: np.ndarray, y_val: np.ndarray, y_train: np.ndarray) -> dict[str, Any] | None:
        """Offsets added to the logits at prediction time, chosen on validation data.

        Returns {"offsets": array of shape (num_classes,), **chosen values}.
        """
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

    def class_weight(self, hp: Any, y_train: np.ndarray) -> dict[int, float] | None:
        return next((w for p in self.parts if (w := p.class_weight(hp, y_train))), None)

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

    def init_model(self, model: Any, hp: Any, y_train: np.ndarray, num_classes: int) -> None:
        for part in self.parts:
            part.init_model(model, hp, y_train, num_classes)

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
