"""Strategies that change only how the training pool is cut into train/validation."""

from __future__ import annotations

from typing import ClassVar

from strategies.base import StrategyPart


class Baseline(StrategyPart):
    """Random train/val cut, plain cross-entropy: the reference every row is compared to."""


class Stratify(StrategyPart):
    """Stratified train/val cut, so rare classes keep their share of validation."""

    hooks: ClassVar[frozenset[str]] = frozenset({"split"})

    @property
    def stratified(self) -> bool:
        return True
