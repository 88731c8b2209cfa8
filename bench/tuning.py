"""keras-tuner search for one (dataset, strategy), on its tuning fold only.

keras-tuner keeps its own project directory, so an interrupted search resumes
where it stopped; this module turns the oracle's trials into plain records for
the store and says clearly when no trial succeeded (keras-tuner itself only
raises after several consecutive failures).
"""

from __future__ import annotations

import contextlib
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras_tuner

from bench.training import OBJECTIVE, ImbalanceHyperModel, early_stopping


@dataclass(frozen=True)
class TrialRecord:
    trial_id: str
    status: str
    objective: float | None
    hyperparameters: dict[str, Any]
    message: str


@dataclass(frozen=True)
class SearchResult:
    best: keras_tuner.HyperParameters | None
    trials: tuple[TrialRecord, ...]

    @property
    def error(self) -> str:
        """Why no hyperparameters were chosen (empty when the search succeeded)."""
        if self.best is not None:
            return ""
        reasons = {t.message.strip().splitlines()[-1] for t in self.trials if t.message.strip()}
        return "every tuning trial failed: " + ("; ".join(sorted(reasons)) or "no trial finished")


def make_tuner(
    kind: str,
    hypermodel: ImbalanceHyperModel,
    *,
    max_trials: int,
    epochs: int,
    seed: int,
    directory: Path,
    project: str,
) -> keras_tuner.Tuner:
    common: dict[str, Any] = {
        "objective": keras_tuner.Objective(OBJECTIVE, "max"),
        "seed": seed,
        "directory": str(directory),
        "project_name": project,
        "overwrite": False,
    }
    if kind == "hyperband":
        return keras_tuner.Hyperband(hypermodel, max_epochs=epochs, factor=3, **common)
    if kind == "bayesian":
        return keras_tuner.BayesianOptimization(hypermodel, max_trials=max_trials, **common)
    return keras_tuner.RandomSearch(hypermodel, max_trials=max_trials, **common)


def search(
    kind: str,
    hypermodel: ImbalanceHyperModel,
    *,
    max_trials: int,
    epochs: int,
    patience: int,
    seed: int,
    directory: Path,
    project: str,
) -> SearchResult:
    """Run (or resume) the search and report every trial; keras-tuner's prints are kept quiet."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        tuner = make_tuner(
            kind,
            hypermodel,
            max_trials=max_trials,
            epochs=epochs,
            seed=seed,
            directory=directory,
            project=project,
        )
        tuner.search(epochs=epochs, callbacks=[early_stopping(patience)], verbose=0)
    trials = tuple(_record(trial) for trial in tuner.oracle.trials.values())
    completed = [t for t in trials if t.status == "COMPLETED" and t.objective is not None]
    best = tuner.oracle.get_best_trials(1)[0].hyperparameters if completed else None
    return SearchResult(best=best, trials=trials)


def _record(trial: Any) -> TrialRecord:
    score = trial.score
    finite = score is not None and math.isfinite(score)
    return TrialRecord(
        trial_id=str(trial.trial_id),
        status=str(trial.status),
        objective=float(score) if finite else None,
        hyperparameters=dict(trial.hyperparameters.values),
        message=str(getattr(trial, "message", "") or ""),
    )
