"""keras-tuner search for one (dataset, strategy), on its tuning fold only.

keras-tuner keeps its own project directory, so an interrupted search resumes
where it stopped; this module turns the oracle's trials into plain records for
the store and says clearly when no trial succeeded (keras-tuner itself only
raises after several consecutive failures).
"""

from __future__ import annotations

import contextlib
import copy
import io
import logging
import math
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras_tuner

from bench.config import TrainingOptions
from bench.records import TrialRecord
from bench.training.callbacks import OBJECTIVE, kept_scores
from bench.training.hypermodel import FoldData, ImbalanceHyperModel

log = logging.getLogger("bench")


@dataclass(frozen=True)
class SearchResult:
    """What keras-tuner's search chose (None if no trial succeeded) and every trial it ran."""

    best: dict[str, Any] | None
    trials: tuple[TrialRecord, ...]

    @property
    def error(self) -> str:
        """Why no hyperparameters were chosen (empty when the search succeeded)."""
        if self.best is not None:
            return ""
        reasons = {t.message.strip().splitlines()[-1] for t in self.trials if t.message.strip()}
        return "every tuning trial failed: " + ("; ".join(sorted(reasons)) or "no trial finished")


class ScoredAsKept:
    """Trials scored at the epoch their fit keeps (a mixin for keras-tuner's tuners).

    keras-tuner scores a History by its best epoch over all epochs; the final
    run keeps no epoch before `min_epochs` or before deferred weights switch on,
    so a trial is scored on the epochs that run could keep (training.kept_scores).
    """

    def run_trial(self, trial: keras_tuner.engine.trial.Trial, *args: Any, **kwargs: Any) -> Any:
        results = super().run_trial(trial, *args, **kwargs)  # type: ignore[misc]
        if isinstance(results, list):
            return [kept_scores(history) for history in results]
        return kept_scores(results)


class WithoutCheckpoints:
    """Trials fit without keras-tuner's checkpoints (a mixin for RandomSearch and BayesianOptimization).

    keras-tuner's run_trial saves the weights at every improving epoch, 21 ms
    a save (13% of a small trial's fit), and adds a callback with per-batch
    hooks, which make Keras sync its logs after every batch. The harness
    never loads a trial's model: it retrains the winner. This is keras-tuner's
    documented run_trial override. Hyperband keeps its checkpoints, since it
    continues trials from them.
    """

    hypermodel: ImbalanceHyperModel

    def run_trial(self, trial: keras_tuner.engine.trial.Trial, *args: Any, **kwargs: Any) -> Any:
        hp = trial.hyperparameters
        kwargs["callbacks"] = copy.deepcopy(kwargs.get("callbacks", []))  # fresh state per trial, as keras-tuner does
        return self.hypermodel.fit(hp, self.hypermodel.build(hp), *args, **kwargs)


class CrossValidated:
    """Each trial fits once per fold (cv tuning); keras-tuner averages the folds' kept scores into the objective."""

    hypermodel: ImbalanceHyperModel
    folds: tuple[FoldData, ...] = ()

    def run_trial(self, trial: keras_tuner.engine.trial.Trial, *args: Any, **kwargs: Any) -> Any:
        if not self.folds:
            return super().run_trial(trial, *args, **kwargs)  # type: ignore[misc]
        scores = []
        for fold in self.folds:
            self.hypermodel.fold = fold
            scores.append(super().run_trial(trial, *args, **kwargs))  # type: ignore[misc]
        return scores


class RandomSearch(CrossValidated, ScoredAsKept, WithoutCheckpoints, keras_tuner.RandomSearch):
    pass


class BayesianOptimization(CrossValidated, ScoredAsKept, WithoutCheckpoints, keras_tuner.BayesianOptimization):
    pass


class Hyperband(ScoredAsKept, keras_tuner.Hyperband):
    pass


def make_tuner(
    hypermodel: ImbalanceHyperModel,
    options: TrainingOptions,
    *,
    directory: Path,
    project: str,
    fixed: dict[str, Any] | None = None,
) -> keras_tuner.Tuner:
    """keras-tuner's tuner of the options' kind; `fixed` hyperparameters are held (a staged search's model stage)."""
    common: dict[str, Any] = {
        "objective": keras_tuner.Objective(OBJECTIVE, "max"),
        "seed": options.tuner_seed,
        "directory": str(directory),
        "project_name": project,
        "overwrite": False,
        # keras-tuner raises after 3 failed trials in a row, dropping the record of all
        # of them; here every trial runs and is recorded, and no success means no winner.
        "max_consecutive_failed_trials": 1_000_000,
    }
    if fixed:
        held = keras_tuner.HyperParameters()
        for name, value in fixed.items():
            if not name.startswith("tuner/"):  # hyperband's own bookkeeping of the trial it came from
                held.Fixed(name, value)
        common.update(hyperparameters=held, tune_new_entries=True)
    if options.tuner == "hyperband":
        return Hyperband(hypermodel, max_epochs=options.epochs, factor=3, **common)
    if options.tuner == "bayesian":
        return BayesianOptimization(hypermodel, max_trials=options.max_trials, **common)
    return RandomSearch(hypermodel, max_trials=options.max_trials, **common)


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """keras-tuner prints its progress and reloads; the harness has its own progress display."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        yield


def search(
    hypermodel: ImbalanceHyperModel,
    options: TrainingOptions,
    *,
    directory: Path,
    project: str,
    folds: tuple[FoldData, ...] = (),
    fixed: dict[str, Any] | None = None,
) -> SearchResult:
    """Run (or resume) the search and report every trial; keras-tuner's prints are kept quiet.

    A project whose saved state cannot be read (a kill mid-write can truncate
    keras-tuner's JSON files) is deleted and its search starts over; the
    trials are seeded, so the restart chooses what the lost search would have.
    """
    where = {"directory": directory, "project": project, "fixed": fixed}
    try:
        with quiet():
            tuner = make_tuner(hypermodel, options, **where)
    except (ValueError, KeyError, RuntimeError) as exc:  # keras-tuner's reload of unreadable JSON
        log.info("tuner state of %s could not be read (%s); its search starts over", project, exc)
        shutil.rmtree(directory / project, ignore_errors=True)
        with quiet():
            tuner = make_tuner(hypermodel, options, **where)
    tuner.folds = folds
    with quiet():
        tuner.search(epochs=options.epochs, verbose=0)  # the hypermodel early-stops each fit itself
    trials = tuple(_record(trial) for trial in tuner.oracle.trials.values())
    completed = [t for t in trials if t.status == "COMPLETED" and t.objective is not None]
    best = dict(tuner.oracle.get_best_trials(1)[0].hyperparameters.values) if completed else None
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
