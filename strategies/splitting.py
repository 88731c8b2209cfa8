"""Strategies that change only how the training pool is cut into train/validation."""

from __future__ import annotations

from strategies.base import StrategyPart


class Baseline(StrategyPart):
    """Random train/val cut, plain cross-entropy: the reference every row is compared to."""

    name = "baseline"
    description = "random train/val split, plain cross-entropy"
    reference = "the reference row: no strategy"
    version = 1
    alone = True


class Stratify(StrategyPart):
    """Stratified train/val cut, so rare classes keep their share of validation."""

    name = "stratify"
    description = "stratified train/val split"
    reference = "scikit-learn train_test_split(stratify=)"
    version = 1

    @property
    def stratified(self) -> bool:
        return True
