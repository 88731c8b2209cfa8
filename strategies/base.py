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

    def loss(self, hp: Any, y_train: np.ndarray) -> Any:
        return None

    def class_weight(self, hp: Any, y_train: np.ndarray) -> dict[int, float] | None:
        return None

    def sampler(self, hp: Any, y_train: np.ndarray) -> Sampler | None:
        return None


@dataclass(frozen=True)
class Strategy:
    """A named composite of parts; the harness calls only these methods."""

    name: str
    parts: tuple[StrategyPart, ...]

    @property
    def stratified(self) -> bool:
        return any(part.stratified for part in self.parts)

    def declare(self, hp: Any) -> None:
        """Put every part's hyperparameters in the search space."""
        for part in self.parts:
            part.declare(hp)

    def loss(self, hp: Any, y_train: np.ndarray) -> Any:
        """The training loss on logits; plain cross-entropy unless a part sets one."""
        for part in self.parts:
            if (loss := part.loss(hp, y_train)) is not None:
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
