"""The work of a study as functions that compute and return, never touching the store.

The driver (bench.runner) decides what runs and records every result; these
functions run in its process or in worker processes (bench.executors), so
each takes the prepared study first and everything else as plain arguments.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import keras_tuner
import numpy as np
from scipy.special import softmax

from bench.features import fold_features
from bench.files import slug
from bench.metrics import score
from bench.plan import Study
from bench.splits import Fold, make_fold
from bench.store import Cell, CellResult
from bench.training import FoldData, ImbalanceHyperModel, early_stopping, predict_logits
from bench.tuning import search
from strategies import Strategy


@dataclass(frozen=True)
class SearchOutcome:
    """A finished search as plain data: the winner (None if no trial succeeded), every trial, why not."""

    best: dict[str, Any] | None
    trials: list[dict[str, Any]]
    seconds: float
    error: str = ""
    not_applicable: bool = False
    compute_seconds: float = 0.0


@dataclass(frozen=True)
class Trained:
    """What a cell gets from its model, trained here or reused: logits and how training went."""

    val_logits: np.ndarray
    test_logits: np.ndarray
    history: dict[str, Any]
    samples_per_epoch: int
    compute_seconds: float = 0.0  # fit and predict; nothing for reused logits


def fold_data(study: Study, dataset: str, strategy: Strategy, seed: int) -> tuple[FoldData, Fold, np.ndarray]:
    """The strategy's view of a seed (train and validation) and, apart, the test features."""
    data = study.datasets[dataset]
    fold = make_fold(data, seed, strategy.stratified, study.config.val_fraction)
    features = fold_features(data, fold)
    arrays = FoldData(features.train, data.y[fold.train], features.val, data.y[fold.val], data.num_classes)
    return arrays, fold, features.test


def fixed_hyperparameters(values: dict[str, Any]) -> keras_tuner.HyperParameters:
    """HyperParameters that answer every lookup with the tuned value."""
    hp = keras_tuner.HyperParameters()
    for name, value in values.items():
        hp.Fixed(name, value)
    return hp


def project_name(dataset: str, strategy: str) -> str:
    """A folder name for keras-tuner that keeps spec characters out of paths."""
    return slug(f"{dataset}__{strategy}")


def search_task(
    study: Study,
    directory: Path,
    dataset: str,
    strategy_name: str,
    on_trial_end: Callable[[], None] | None = None,
) -> SearchOutcome:
    """keras-tuner's search for (dataset, strategy) on the first seed's train/validation split."""
    config, strategy = study.config, study.strategies[strategy_name]
    tuning_seed = config.seed_values[0]
    arrays, _, _ = fold_data(study, dataset, strategy, tuning_seed)
    hypermodel = ImbalanceHyperModel(
        study.models[dataset][1],
        strategy,
        arrays,
        tuning_seed,
        on_fit_end=on_trial_end,
        reduce_lr=config.reduce_lr,
        mixed_precision=config.mixed_precision,
    )
    started = time.perf_counter()
    try:
        result = search(
            config.tuner,
            hypermodel,
            max_trials=config.max_trials,
            epochs=config.epochs,
            patience=config.patience,
            min_epochs=config.min_epochs,
            seed=config.tuner_seed,
            directory=directory / "tuner",
            project=project_name(dataset, strategy_name),
        )
        best = dict(result.best.values) if result.best is not None else None
        trials, error = [t.__dict__ for t in result.trials], result.error
    except Exception as exc:  # keras-tuner raises on its own failures; the study goes on
        best, trials, error = None, [], f"tuning failed: {type(exc).__name__}: {exc}"
    seconds, compute = time.perf_counter() - started, hypermodel.compute_seconds
    if best is None and hypermodel.not_applicable:
        return SearchOutcome(None, trials, seconds, hypermodel.not_applicable, True, compute)
    return SearchOutcome(best, trials, seconds, error, compute_seconds=compute)


def train(
    study: Study, directory: Path, cell: Cell, arrays: FoldData, x_test: np.ndarray, best: dict[str, Any]
) -> Trained:
    """The cell's model trained with the tuned hyperparameters, early-stopped on validation macro-F1."""
    config, data = study.config, study.datasets[cell.dataset]
    hypermodel = ImbalanceHyperModel(
        study.models[cell.dataset][1],
        study.strategies[cell.strategy],
        arrays,
        cell.seed,
        reduce_lr=config.reduce_lr,
        mixed_precision=config.mixed_precision,
        live_class_names=data.class_names if config.live else None,
    )
    callbacks = [early_stopping(config.patience, config.min_epochs)]
    if config.tensorboard:
        log_dir = directory / "tensorboard" / project_name(cell.dataset, cell.strategy) / f"seed-{cell.seed}"
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(log_dir)))
    hp = fixed_hyperparameters(best)
    model = hypermodel.build(hp)
    history = hypermodel.fit(hp, model, epochs=config.epochs, callbacks=callbacks)
    monitor = hypermodel.monitor
    started = time.perf_counter()
    val_logits, test_logits = predict_logits(model, arrays.x_val), predict_logits(model, x_test)
    return Trained(
        val_logits=val_logits,
        test_logits=test_logits,
        compute_seconds=hypermodel.compute_seconds + time.perf_counter() - started,
        history={
            **{k: [float(v) for v in values] for k, values in history.history.items()},
            "val_recall_per_class": monitor.recall_per_class,
            "val_confusion": monitor.confusion,
        },
        samples_per_epoch=hypermodel.samples_per_epoch,
    )


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
        chosen = part.posthoc(trained.val_logits, arrays.y_val, arrays.y_train)
        logits = logits + chosen.pop("offsets")
        hyperparameters.update(chosen)
    proba = softmax(logits, axis=1)
    y_pred, y_true = logits.argmax(axis=1), data.y[fold.test]
    return CellResult(
        hyperparameters=hyperparameters,
        history=trained.history,
        seconds=time.perf_counter() - started,
        class_counts={
            split: np.bincount(data.y[indices], minlength=data.num_classes).tolist()
            for split, indices in (("train", fold.train), ("val", fold.val), ("test", fold.test))
        },
        samples_per_epoch=trained.samples_per_epoch,
        sample_id=fold.test,
        y_true=y_true,
        y_pred=y_pred,
        proba=proba.astype("float32"),
        val_logits=trained.val_logits.astype("float32"),
        logits=logits.astype("float32"),
        metrics=score(y_true, y_pred, data.num_classes),
        compute_seconds=trained.compute_seconds,
    )
