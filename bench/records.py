"""The records results travel as, from the tasks that compute them (in any process) to the store that keeps them.

Plain frozen dataclasses of Python values and numpy arrays: they pickle from
a worker to the driver, and the store writes each one in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Cell:
    """One seed of one strategy on one dataset; `position` is its place in the study's order."""

    key: str
    dataset: str
    strategy: str
    seed: int
    position: int


@dataclass(frozen=True)
class SearchKey:
    """A search of (dataset, strategy) for a seed (0: one search every seed shares), at the strategy's version."""

    dataset: str
    strategy: str
    seed: int = 0
    version: str = ""


@dataclass(frozen=True)
class TrialRecord:
    """One keras-tuner trial as the store keeps it."""

    trial_id: str
    status: str
    objective: float | None
    hyperparameters: dict[str, Any]
    message: str


@dataclass(frozen=True)
class SearchOutcome:
    """A finished search: the winner (None if no trial succeeded), every trial, and why not.

    `winner` is the winning trial's model as its tuning seed's cell would
    train it (the same fold, seed and hyperparameters), when the search kept it
    (bench.execution.tasks.search_task); the store does not keep it.
    """

    best: dict[str, Any] | None
    trials: tuple[TrialRecord, ...]
    seconds: float
    error: str = ""
    not_applicable: bool = False
    compute_seconds: float = 0.0
    winner: Trained | None = None


@dataclass(frozen=True)
class Classifier:
    """The layer that computes the logits, as a post-hoc strategy sees it: per class, its weights' norm and bias.

    Kept in a trained cell's history under "classifier" ({"norms": [...],
    "bias": [...]}, or None when the model has no such layer), so a post-hoc
    strategy that reuses stored logits sees the model's too. Cells stored
    before it was recorded lack the key.
    """

    norms: np.ndarray
    bias: np.ndarray

    @staticmethod
    def recorded(history: dict[str, Any]) -> bool:
        return "classifier" in history

    @classmethod
    def from_history(cls, history: dict[str, Any]) -> Classifier | None:
        """The record a trained cell's history holds; None when its model had no such layer."""
        if (found := history.get("classifier")) is None:
            return None
        return cls(np.asarray(found["norms"]), np.asarray(found["bias"]))


@dataclass(frozen=True)
class Trained:
    """What a cell gets from its model, trained here or reused: logits and how training went."""

    val_logits: np.ndarray
    test_logits: np.ndarray
    history: dict[str, Any]
    samples_per_epoch: int
    compute_seconds: float = 0.0  # fit and predict; nothing for reused logits


@dataclass(frozen=True)
class CellResult:
    """What a finished cell leaves behind; everything else is derived from it."""

    hyperparameters: dict[str, Any]
    history: dict[str, list[float]]
    seconds: float
    class_counts: dict[str, list[int]]  # train / val / test, per class
    samples_per_epoch: int
    sample_id: np.ndarray
    y_true: np.ndarray
    y_pred: np.ndarray
    proba: np.ndarray
    val_logits: np.ndarray  # kept so post-hoc strategies can reuse this model without retraining
    logits: np.ndarray  # test logits, after any post-hoc offsets
    metrics: dict[str, float | list[float]]
    compute_seconds: float = 0.0  # of `seconds`, the time in model.fit and predict
