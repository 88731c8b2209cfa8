"""keras-tuner search for one (dataset, strategy), on its tuning fold only.

keras-tuner keeps its own project directory, so an interrupted search resumes
where it stopped; this module turns the oracle's trials into plain records for
the store and says clearly when no trial succeeded (keras-tuner itself only
raises after several consecutive failures).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import json
import logging
import math
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import keras_tuner
import numpy as np

from bench.config import TrainingOptions
from bench.records import Trained, TrialRecord
from bench.training.callbacks import OBJECTIVE
from bench.training.hypermodel import Fit, FoldData, ImbalanceHyperModel

# What a search makes of its winning trial's fitted model, so that the model need not be trained again.
Keep = Callable[[keras.Model, Fit], Trained]

log = logging.getLogger("bench")


@dataclass(frozen=True)
class SearchResult:
    """What keras-tuner's search chose (None if no trial succeeded), every trial it ran, and what was kept of
    the chosen trial's model (None when nothing was kept, or the trial ran before the search resumed)."""

    best: dict[str, Any] | None
    trials: tuple[TrialRecord, ...]
    winner: Trained | None = None

    @property
    def error(self) -> str:
        """Why no hyperparameters were chosen (empty when the search succeeded)."""
        if self.best is not None:
            return ""
        reasons = {t.message.strip().splitlines()[-1] for t in self.trials if t.message.strip()}
        return "every tuning trial failed: " + ("; ".join(sorted(reasons)) or "no trial finished")


class WithoutCheckpoints:
    """Trials fit without keras-tuner's checkpoints (a mixin for random search and Bayesian optimisation).

    keras-tuner's run_trial saves the weights at every improving epoch, 21 ms
    a save (13% of a small trial's fit), and adds a callback with per-batch
    hooks, which make Keras sync its logs after every batch. The harness
    never loads a trial's checkpoint: with `keep`, it holds the model, its
    weights and the record of the best trial so far in memory. This is keras-tuner's
    documented run_trial override. Hyperband keeps its checkpoints, since it
    continues trials from them.
    """

    hypermodel: ImbalanceHyperModel
    oracle: keras_tuner.Oracle
    keep: Keep | None = None
    kept: dict[str, tuple[Fit, keras.Model, list[np.ndarray]]]  # by trial id: the fit, its model and kept weights

    def run_trial(self, trial: keras_tuner.engine.trial.Trial, *args: Any, **kwargs: Any) -> Any:
        hp = trial.hyperparameters
        kwargs["callbacks"] = copy.deepcopy(kwargs.get("callbacks", []))  # fresh state per trial, as keras-tuner does
        model = self.hypermodel.build(hp)
        fit = self.hypermodel.train(hp, model, **kwargs)
        if self.keep is not None:  # the best trial so far (every earlier one is scored) and this one
            best = {t.trial_id for t in self.oracle.get_best_trials(1)}
            self.kept = {i: kept for i, kept in self.kept.items() if i in best}
            self.kept[trial.trial_id] = fit, model, model.get_weights()
        return fit.kept_scores


class DeclaredSpace:
    """keras-tuner builds the model to learn the search space before the first trial (a mixin for every tuner):
    that build needs the hyperparameters declared, not a compiled model, so it compiles nothing."""

    hypermodel: ImbalanceHyperModel

    def _populate_initial_space(self) -> None:  # keras-tuner's hook for this (AutoKeras overrides it too)
        with self.hypermodel.declaring():
            super()._populate_initial_space()  # type: ignore[misc]


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


def draw_seed(search: int, trial: int, attempt: int, name: str) -> int:
    """The seed of one hyperparameter's draw: a function of the search's seed, the trial, and the name alone."""
    text = json.dumps([search, trial, attempt, name])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


class PairedDraws:
    """Random draws by name (a mixin for keras-tuner's oracles): common random numbers across strategies.

    keras-tuner draws every value of a trial from one counter, so a strategy's
    own knobs shift every later draw, and baseline and class-weight try
    different models. Here trial i's value of each hyperparameter is drawn
    from (search seed, i, its name): trial i of every strategy's search of one
    (dataset, seed) gets the same layers, units, dropout, learning rate and
    batch size, and a strategy's own knobs, named by their part, have streams
    of their own. A draw that repeats an earlier trial is redrawn (a new
    attempt), as keras-tuner does. Random search uses it for every trial,
    Bayesian optimisation for its initial random points, Hyperband for each
    bracket's random candidates.
    """

    seed: int
    hyperparameters: keras_tuner.HyperParameters
    _max_collisions: int
    _trial_index = 0

    def populate_space(self, trial_id: str) -> dict[str, Any]:
        self._trial_index = int(trial_id)  # keras-tuner numbers trials 0, 1, ... in order, also on resume
        return super().populate_space(trial_id)  # type: ignore[misc]

    def _random_values(self) -> dict[str, Any] | None:
        for attempt in range(self._max_collisions + 1):
            hps = keras_tuner.HyperParameters()
            for hp in self.hyperparameters.space:
                hps.merge([hp])
                if hps.is_active(hp):
                    hps.values[hp.name] = hp.random_sample(draw_seed(self.seed, self._trial_index, attempt, hp.name))
            if not self._duplicate(hps.values):  # type: ignore[attr-defined]
                return hps.values
        return None


class PairedRandomSearchOracle(PairedDraws, keras_tuner.oracles.RandomSearchOracle):
    pass


class PairedBayesianOracle(PairedDraws, keras_tuner.oracles.BayesianOptimizationOracle):
    pass


class KeptEpochHyperbandOracle(PairedDraws, keras_tuner.oracles.HyperbandOracle):
    """Hyperband whose shortest round runs past `shortest - 1` epochs (the first epoch a run may keep).

    keras-tuner's brackets start at max_epochs / factor ** k down to one epoch:
    at 30 epochs, rounds of 2, 4 and 10, too short for early stopping to start
    at `min_epochs` or for deferred weights to switch on, so a trial would be
    scored on an epoch the final run could never keep. Brackets whose first
    round is shorter than `shortest` are dropped (keras-tuner's own `min_epochs`
    attribute, set before it counts its brackets); the longest bracket is plain
    random search over the full budget, which the protocol scores as the final run.
    """

    def __init__(self, *args: Any, shortest: int, **kwargs: Any) -> None:
        self.shortest = shortest
        super().__init__(*args, **kwargs)

    def _get_num_brackets(self) -> int:
        self.min_epochs = min(max(self.shortest, 1), self.max_epochs)
        return super()._get_num_brackets()


class Search(DeclaredSpace, CrossValidated, WithoutCheckpoints, keras_tuner.Tuner):
    """The tuner of random search and Bayesian optimisation (the oracle decides which): keras-tuner's own
    RandomSearch and BayesianOptimization classes add nothing but building their oracle."""


class Hyperband(DeclaredSpace, keras_tuner.Hyperband):
    """keras-tuner's Hyperband tuner (continuing trials from their checkpoints) over a given oracle."""

    def __init__(self, hypermodel: ImbalanceHyperModel, oracle: keras_tuner.Oracle, **kwargs: Any) -> None:
        keras_tuner.Tuner.__init__(self, oracle=oracle, hypermodel=hypermodel, **kwargs)  # Hyperband's builds its own


def make_tuner(
    hypermodel: ImbalanceHyperModel,
    options: TrainingOptions,
    *,
    directory: Path,
    project: str,
    fixed: dict[str, Any] | None = None,
) -> keras_tuner.Tuner:
    """keras-tuner's tuner of the options' kind; `fixed` hyperparameters are held (a staged search's model stage)."""
    oracle_arguments: dict[str, Any] = {
        "objective": keras_tuner.Objective(OBJECTIVE, "max"),
        "seed": options.tuner_seed,
        # keras-tuner raises after 3 failed trials in a row, dropping the record of all
        # of them; here every trial runs and is recorded, and no success means no winner.
        "max_consecutive_failed_trials": 1_000_000,
    }
    if fixed:
        held = keras_tuner.HyperParameters()
        for name, value in fixed.items():
            if not name.startswith("tuner/"):  # hyperband's own bookkeeping of the trial it came from
                held.Fixed(name, value)
        oracle_arguments.update(hyperparameters=held, tune_new_entries=True)
    where = {"directory": str(directory), "project_name": project, "overwrite": False}
    if options.tuner == "hyperband":
        shortest = hypermodel.first_kept_epoch() + 1  # a round must reach an epoch its fit may keep
        oracle = KeptEpochHyperbandOracle(max_epochs=options.epochs, factor=3, shortest=shortest, **oracle_arguments)
        return Hyperband(hypermodel, oracle, **where)
    if options.tuner == "bayesian":
        oracle = PairedBayesianOracle(max_trials=options.max_trials, **oracle_arguments)
        return Search(oracle=oracle, hypermodel=hypermodel, **where)
    oracle = PairedRandomSearchOracle(max_trials=options.max_trials, **oracle_arguments)
    return Search(oracle=oracle, hypermodel=hypermodel, **where)


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
    keep: Keep | None = None,
) -> SearchResult:
    """Run (or resume) the search and report every trial; keras-tuner's prints are kept quiet.

    A project whose saved state cannot be read (a kill mid-write can truncate
    keras-tuner's JSON files) is deleted and its search starts over; the
    trials are seeded, so the restart chooses what the lost search would have.
    With `keep` (random search and Bayesian optimisation only, on one fold),
    the best trial's model gets back the weights its fit kept (a later trial
    of the same structure may have trained the same compiled model since),
    and what `keep` makes of it comes back as the winner; nothing of it is
    seen before the search has chosen.
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
    if keep is not None and (folds or not isinstance(tuner, WithoutCheckpoints)):
        raise ValueError("a trial's model is kept only by random search or Bayesian optimisation on one fold")
    tuner.folds, tuner.keep, tuner.kept = folds, keep, {}
    with quiet():
        tuner.search(epochs=options.epochs, verbose=0)  # the hypermodel early-stops each fit itself
    trials = tuple(_record(trial) for trial in tuner.oracle.trials.values())
    if not any(t.status == "COMPLETED" and t.objective is not None for t in trials):
        return SearchResult(best=None, trials=trials)
    chosen = tuner.oracle.get_best_trials(1)[0]
    winner = None
    if keep is not None and (kept := tuner.kept.get(chosen.trial_id)) is not None:
        fit, model, weights = kept
        model.set_weights(weights)
        winner = keep(model, fit)
    return SearchResult(best=dict(chosen.hyperparameters.values), trials=trials, winner=winner)


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
