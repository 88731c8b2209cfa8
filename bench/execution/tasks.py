"""The work of a study as functions that compute and return, never touching the store.

The driver (bench.execution.runner) decides what runs and records every result; these
functions run in its process or in worker processes (bench.execution.executors), so
each takes the prepared study first and everything else as plain arguments. Keras
and the training code are imported where a task uses them: a driver whose workers
train imports this module without loading a backend (bench.commands.run).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.special import softmax
from sklearn.model_selection import StratifiedKFold

from bench import backend
from bench.data.features import fold_features
from bench.data.splits import Fold, holdout
from bench.execution.plan import Study
from bench.metrics import score
from bench.records import Cell, CellResult, Classifier, SearchOutcome, Trained
from bench.storage.files import slug
from strategies import Strategy

if TYPE_CHECKING:
    import keras_tuner

    from bench.training.hypermodel import FoldData


def preflight(study: Study) -> dict[str, str]:
    """Where the study's models will train, before the driver opens the store: each dataset's model builds
    and outputs a logit per class (a UserError says what is wrong otherwise), and the versions of Keras,
    keras-tuner and the backend found there, for the report's provenance."""
    import keras
    import keras_tuner

    from bench.training.models import check_builder

    backend.share_gpu_memory()
    mixed_precision = study.config.protocol.mixed_precision
    for name, dataset in study.datasets.items():
        check_builder(*study.models[name], dataset.input_shape, dataset.num_classes, mixed_precision)
    return {"keras": keras.__version__, "keras-tuner": keras_tuner.__version__, **backend.versions()}


def fold_data(study: Study, dataset: str, strategy: Strategy, seed: int) -> tuple[FoldData, Fold, np.ndarray]:
    """The strategy's view of a seed (train and validation) and, apart, the test features."""
    from bench.training.hypermodel import FoldData

    data = study.datasets[dataset]
    fold = study.folds[dataset, seed, strategy.stratified]
    features = fold_features(data, fold)
    arrays = FoldData(features.train, data.y[fold.train], features.val, data.y[fold.val], data.num_classes)
    return arrays, fold, features.test


def fixed_hyperparameters(values: dict[str, Any]) -> keras_tuner.HyperParameters:
    """HyperParameters that answer every lookup with the tuned value."""
    import keras_tuner

    hp = keras_tuner.HyperParameters()
    for name, value in values.items():
        hp.Fixed(name, value)
    return hp


def project_name(dataset: str, strategy: str, seed: int = 0) -> str:
    """A folder name for keras-tuner that keeps spec characters out of paths; a per-seed search has its own."""
    return slug(f"{dataset}__{strategy}" + (f"__seed-{seed}" if seed else ""))


def cv_folds(study: Study, dataset: str, seed: int, k: int) -> tuple[FoldData, ...]:
    """K stratified train/validation folds of `seed`'s training pool (its test rows never enter), for cv tuning."""
    from bench.training.hypermodel import FoldData

    data = study.datasets[dataset]
    _, pool = holdout(data, seed)
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    folds = []
    with warnings.catch_warnings():  # a class with fewer than k pool rows is absent from some folds' validation
        warnings.simplefilter("ignore", UserWarning)
        for train, val in splitter.split(pool, data.y[pool]):
            fold = Fold(seed=seed, train=np.sort(pool[train]), val=np.sort(pool[val]), test=pool[:0])
            features = fold_features(data, fold)
            folds.append(FoldData(features.train, data.y[fold.train], features.val, data.y[fold.val], data.num_classes))
    return tuple(folds)


def tuning_seed(study: Study, dataset: str, strategy: str, search: int) -> int:
    """The seed whose train/validation cut the search of `search` (0: the one all seeds share) tunes on.

    Its own with per-seed tuning; a shared search's is the first seed whose
    cell the strategy can run (see plan.skip).
    """
    if search:
        return search
    runnable = [
        c.seed for c in study.cells if c.dataset == dataset and c.strategy == strategy and c.key not in study.skipped
    ]
    return min(runnable, default=study.config.protocol.seed_values[0])


def keeps_winner(study: Study) -> bool:
    """Whether a search's winning trial can be its tuning seed's final run, kept rather than trained again.

    That trial trained the model the cell would (the same fold, seed and
    hyperparameters, the full epoch budget), so its logits and history are the
    cell's, bit for bit. Not so for hyperband (shorter, continued rounds) or
    cv tuning (other folds), nor when the final run is watched (--live) or
    logged (--tensorboard).
    """
    config = study.config
    return not (
        config.protocol.tuner == "hyperband" or config.protocol.cv_folds or config.run.live or config.run.tensorboard
    )


def search_task(
    study: Study,
    directory: Path,
    dataset: str,
    strategy_name: str,
    on_trial_end: Callable[[], None] | None = None,
    seed: int = 0,
    fixed: dict[str, Any] | None = None,
) -> SearchOutcome:
    """keras-tuner's search for (dataset, strategy), on `seed`'s train/validation (0: one seed's, for all seeds).

    With cv tuning, each trial is scored on K folds of that seed's pool
    instead. `fixed` hyperparameters (the model stage of a staged search) are
    not tuned; the strategy's own are.
    """
    from bench.training.hypermodel import ImbalanceHyperModel
    from bench.training.tuning import search

    protocol, strategy = study.config.protocol, study.strategies[strategy_name]
    tuned_on = tuning_seed(study, dataset, strategy_name, seed)
    options = replace(protocol.training, tuner_seed=protocol.tuner_seed(dataset, seed))
    arrays, _, x_test = fold_data(study, dataset, strategy, tuned_on)
    hypermodel = ImbalanceHyperModel(
        study.models[dataset].builder, strategy, arrays, tuned_on, options, on_fit_end=on_trial_end
    )
    started = time.perf_counter()
    try:
        result = search(
            hypermodel,
            options,
            directory=directory / "tuner",
            project=project_name(dataset, strategy_name, seed),
            folds=cv_folds(study, dataset, tuned_on, protocol.cv_folds) if protocol.cv_folds else (),
            fixed=fixed,
            keep=(lambda model, fit: hypermodel.trained(model, fit, x_test)) if keeps_winner(study) else None,
        )
        best, trials, error, winner = result.best, result.trials, result.error, result.winner
    except Exception as exc:  # keras-tuner raises on its own failures; the study goes on
        best, trials, error, winner = None, (), f"tuning failed: {type(exc).__name__}: {exc}", None
    seconds, compute = time.perf_counter() - started, hypermodel.compute_seconds
    if best is None and hypermodel.not_applicable:
        return SearchOutcome(None, trials, seconds, hypermodel.not_applicable, True, compute)
    return SearchOutcome(best, trials, seconds, error, compute_seconds=compute, winner=winner)


def train(
    study: Study, directory: Path, cell: Cell, arrays: FoldData, x_test: np.ndarray, best: dict[str, Any]
) -> Trained:
    """The cell's model trained with the tuned hyperparameters, early-stopped on validation macro-F1."""
    import keras

    from bench.training.hypermodel import ImbalanceHyperModel

    config, data = study.config, study.datasets[cell.dataset]
    hypermodel = ImbalanceHyperModel(
        study.models[cell.dataset].builder,
        study.strategies[cell.strategy],
        arrays,
        cell.seed,
        config.protocol.training,
        live_class_names=data.class_names if config.run.live else None,
    )
    callbacks = []
    if config.run.tensorboard:
        log_dir = directory / "tensorboard" / project_name(cell.dataset, cell.strategy) / f"seed-{cell.seed}"
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(log_dir)))
    hp = fixed_hyperparameters(best)
    model = hypermodel.build(hp)
    fit = hypermodel.train(hp, model, epochs=config.protocol.epochs, callbacks=callbacks)
    return replace(hypermodel.trained(model, fit, x_test), compute_seconds=hypermodel.compute_seconds)


def cell_task(
    study: Study, directory: Path, cell: Cell, best: dict[str, Any], reused: Trained | None = None
) -> CellResult:
    """One seed of one strategy: train (or take `reused` logits of the model it extends), then score on test."""
    strategy = study.strategies[cell.strategy]
    arrays, fold, x_test = fold_data(study, cell.dataset, strategy, cell.seed)
    data = study.datasets[cell.dataset]
    started = time.perf_counter()
    trained = reused or train(study, directory, cell, arrays, x_test, best)
    hyperparameters, logits = dict(best), trained.test_logits
    if (part := strategy.posthoc_part) is not None:
        classifier = Classifier.from_history(trained.history)
        chosen = part.posthoc(trained.val_logits, arrays.y_val, arrays.y_train, classifier)
        logits = logits * chosen.pop("scale", 1.0) + chosen.pop("offsets")
        hyperparameters.update(chosen)
    proba = softmax(logits, axis=1).astype("float32")  # as stored: every score is computable again from the store
    y_pred, y_true = logits.argmax(axis=1), data.y[fold.test]
    counts = {
        split: np.bincount(data.y[indices], minlength=data.num_classes)
        for split, indices in (("train", fold.train), ("val", fold.val), ("test", fold.test))
    }
    return CellResult(
        hyperparameters=hyperparameters,
        history=trained.history,
        seconds=time.perf_counter() - started,
        class_counts={split: values.tolist() for split, values in counts.items()},
        samples_per_epoch=trained.samples_per_epoch,
        sample_id=fold.test,
        y_true=y_true,
        y_pred=y_pred,
        proba=proba,
        val_logits=trained.val_logits.astype("float32"),
        logits=logits.astype("float32"),
        metrics=score(y_true, y_pred, proba, counts["train"] + counts["val"]),
        compute_seconds=trained.compute_seconds,
    )
