"""What the store's reads return: typed rows, and the one vocabulary of a cell's or a search's status.

Columns holding JSON (hyperparameters, history, class counts, a search's
winner) stay the text the store keeps, so what is exported or hashed from
them is byte for byte what was written.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, fields
from enum import Enum
from typing import Any, ClassVar


class Status(str, Enum):
    """A cell's or a search's state; its value is the text in the store (and in the report's tables)."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"

    def __str__(self) -> str:  # the text, on every Python (a str-mixin Enum's str() changed in 3.11)
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


FINAL = (Status.DONE, Status.SKIPPED)  # cells a rerun leaves alone


class _Row:
    """Built from a sqlite3.Row by column name; `status` becomes a Status where the table's vocabulary is ours."""

    status_is_ours: ClassVar[bool] = True

    @classmethod
    def columns(cls) -> str:
        return ", ".join(f.name for f in fields(cls))  # type: ignore[arg-type]

    @classmethod
    def read(cls, row: sqlite3.Row) -> Any:
        values = dict(row)
        if cls.status_is_ours:
            values["status"] = Status(values["status"])
        return cls(**values)

    def stored(self) -> dict[str, Any]:
        """The row's values as the store holds them (a status as its text)."""
        return {key: value.value if isinstance(value, Status) else value for key, value in vars(self).items()}


@dataclass(frozen=True)
class CellRow(_Row):
    key: str
    dataset: str
    strategy: str
    seed: int
    position: int
    status: Status
    attempts: int
    started_at: float | None
    finished_at: float | None
    seconds: float | None
    compute_seconds: float | None
    error: str | None
    hyperparameters: str | None
    history: str | None
    class_counts: str | None
    samples_per_epoch: int | None


@dataclass(frozen=True)
class SearchRow(_Row):
    dataset: str
    strategy: str
    seed: int
    version: str
    status: Status
    best_hp: str | None
    seconds: float | None
    error: str | None
    compute_seconds: float | None


@dataclass(frozen=True)
class TrialRow(_Row):
    """A keras-tuner trial; its status is keras-tuner's own word (COMPLETED, FAILED, ...)."""

    status_is_ours: ClassVar[bool] = False

    dataset: str
    strategy: str
    seed: int
    trial_id: str
    status: str
    objective: float | None
    hyperparameters: str
    message: str | None
