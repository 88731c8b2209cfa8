"""The driver: plan, tune each (dataset, strategy) once, retrain the winner per seed.

Only this process writes the store. Cells already done are skipped, so a
second `bench run` of the same study resumes instead of retraining; a cell
that raises is recorded as failed and the study goes on.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import shutil
import subprocess
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import keras_tuner
import numpy as np
import sklearn
from scipy.special import softmax

from bench.features import fold_features
from bench.files import slug
from bench.lock import study_lock
from bench.metrics import score
from bench.models import check_builder
from bench.plan import Study
from bench.progress import PlainProgress
from bench.splits import Fold, make_fold
from bench.store import FINAL, Cell, CellResult, Store
from bench.training import FoldData, ImbalanceHyperModel, early_stopping, enable_determinism, predict_logits
from bench.tuning import search
from reports import write_report
from strategies import NotApplicable, Strategy


@dataclass(frozen=True)
class RunOutcome:
    done: int
    failed: int
    seconds: float
    directory: Path


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


def git_revision() -> str:
    """The commit of the imbalance-bench source that ran, when it is a git checkout."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return result.stdout.strip() if result.returncode == 0 else "unknown"


def environment() -> dict[str, str]:
    """Library versions, backend and hardware, for the report's provenance section."""
    backend = keras.backend.backend()
    found = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "keras": keras.__version__,
        "keras-tuner": keras_tuner.__version__,
        "backend": backend,
        "cpu": f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical cores",
        "imbalance-bench revision": git_revision(),
    }
    if backend == "tensorflow":
        import tensorflow as tf

        found["tensorflow"] = tf.__version__
        found["gpus"] = ", ".join(d.name for d in tf.config.list_physical_devices("GPU")) or "none"
    return found


@dataclass(frozen=True)
class Tuning:
    best: dict[str, Any] | None
    error: str = ""
    not_applicable: bool = False


@dataclass(frozen=True)
class Trained:
    """What a cell gets from its model, trained here or reused: logits and how training went."""

    val_logits: np.ndarray
    test_logits: np.ndarray
    history: dict[str, Any]
    samples_per_epoch: int


class Runner:
    def __init__(self, study: Study, store: Store, directory: Path, progress: PlainProgress) -> None:
        self.study, self.store, self.directory, self.progress = study, store, directory, progress
        self.config = study.config

    def reused_base(self, strategy_name: str) -> str | None:
        """For a post-hoc strategy whose trained counterpart is in the study: that counterpart's name."""
        strategy = self.study.strategies[strategy_name]
        base = strategy.trained().name
        if strategy.posthoc_part is not None and base in self.study.strategies:
            return base
        return None

    def tune(self, dataset: str, strategy_name: str) -> Tuning:
        """Best hyperparameters of (dataset, strategy), searching only if the store has none."""
        best = self.store.best_hyperparameters(dataset, strategy_name)
        if best is not None:
            return Tuning(best)
        if base := self.reused_base(strategy_name):
            best = self.store.best_hyperparameters(dataset, base)
            error = "" if best is not None else f"no tuned hyperparameters of {base} to reuse"
            self.store.save_search(dataset, strategy_name, best, [], 0.0, error)
            return Tuning(best, error)
        strategy = self.study.strategies[strategy_name]
        tuning_seed = self.config.seed_values[0]
        arrays, _, _ = fold_data(self.study, dataset, strategy, tuning_seed)
        project = project_name(dataset, strategy_name)
        tuner_dir = self.directory / "tuner"
        if any(row["dataset"] == dataset and row["strategy"] == strategy_name for row in self.store.searches()):
            shutil.rmtree(tuner_dir / project, ignore_errors=True)  # a failed search starts afresh
        self.progress.search(dataset, strategy_name, self.config.max_trials)
        hypermodel = ImbalanceHyperModel(
            self.study.models[dataset][1],
            strategy,
            arrays,
            tuning_seed,
            on_fit_end=self.progress.trial_done,
            reduce_lr=self.config.reduce_lr,
        )
        started = time.perf_counter()
        try:
            result = search(
                self.config.tuner,
                hypermodel,
                max_trials=self.config.max_trials,
                epochs=self.config.epochs,
                patience=self.config.patience,
                min_epochs=self.config.min_epochs,
                seed=self.config.tuner_seed,
                directory=tuner_dir,
                project=project,
            )
            best = dict(result.best.values) if result.best is not None else None
            trials, error = [t.__dict__ for t in result.trials], result.error
        except Exception as exc:  # keras-tuner raises after repeated failed trials
            best, trials, error = None, [], f"tuning failed: {type(exc).__name__}: {exc}"
        not_applicable = best is None and bool(hypermodel.not_applicable)
        error = hypermodel.not_applicable if not_applicable else error
        self.store.save_search(dataset, strategy_name, best, trials, time.perf_counter() - started, error)
        self.progress.search_done(dataset, strategy_name, error)
        return Tuning(best, error, not_applicable)

    def train(
        self, cell: Cell, strategy: Strategy, arrays: FoldData, x_test: np.ndarray, best: dict[str, Any]
    ) -> Trained:
        data = self.study.datasets[cell.dataset]
        hypermodel = ImbalanceHyperModel(
            self.study.models[cell.dataset][1],
            strategy,
            arrays,
            cell.seed,
            reduce_lr=self.config.reduce_lr,
            live_class_names=data.class_names if self.config.live else None,
        )
        callbacks = [early_stopping(self.config.patience, self.config.min_epochs)]
        if self.config.tensorboard:
            log_dir = self.directory / "tensorboard" / project_name(cell.dataset, cell.strategy) / f"seed-{cell.seed}"
            callbacks.append(keras.callbacks.TensorBoard(log_dir=str(log_dir)))
        hp = fixed_hyperparameters(best)
        model = hypermodel.build(hp)
        history = hypermodel.fit(hp, model, epochs=self.config.epochs, callbacks=callbacks)
        monitor = hypermodel.monitor
        return Trained(
            val_logits=predict_logits(model, arrays.x_val),
            test_logits=predict_logits(model, x_test),
            history={
                **{k: [float(v) for v in values] for k, values in history.history.items()},
                "val_recall_per_class": monitor.recall_per_class,
                "val_confusion": monitor.confusion,
            },
            samples_per_epoch=hypermodel.samples_per_epoch,
        )

    def reuse(self, cell: Cell, base: str) -> Trained:
        """The logits of `base`'s finished cell of the same dataset and seed: no training."""
        found = self.store.logits(cell.dataset, base, cell.seed)
        if found is None:
            raise RuntimeError(
                f"{base} has no finished cell for seed {cell.seed} with validation logits to reuse "
                "(a store migrated from schema 1 has none); run the study in a new folder"
            )
        val_logits, test_logits, history, samples_per_epoch = found
        return Trained(val_logits, test_logits, history, samples_per_epoch)

    def run_cell(self, cell: Cell, best: dict[str, Any]) -> CellResult:
        strategy = self.study.strategies[cell.strategy]
        arrays, fold, x_test = fold_data(self.study, cell.dataset, strategy, cell.seed)
        data = self.study.datasets[cell.dataset]
        started = time.perf_counter()
        base = self.reused_base(cell.strategy)
        trained = self.reuse(cell, base) if base else self.train(cell, strategy, arrays, x_test, best)
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
        )

    def run(self) -> None:
        rows = {row["key"]: row for row in self.store.cells()}
        done = sum(row["status"] == "done" for row in rows.values())
        self.progress.start(len(self.study.cells), done)
        enable_determinism()
        # predict_on_batch retraces once per array shape (validation, test): expected, not news.
        logging.getLogger("tensorflow").setLevel(logging.ERROR)
        # Post-hoc strategies that reuse another strategy's models run after it.
        order = sorted(self.study.strategies, key=lambda name: self.reused_base(name) is not None)
        for dataset in self.study.datasets:
            for strategy in order:
                pending = [
                    c
                    for c in self.study.cells
                    if c.dataset == dataset and c.strategy == strategy and rows[c.key]["status"] not in FINAL
                ]
                if pending:
                    self.run_group(pending)

    def run_group(self, pending: list[Cell]) -> None:
        tuning = self.tune(pending[0].dataset, pending[0].strategy)
        for cell in pending:
            self.store.start_cell(cell.key)
            if tuning.not_applicable:
                self.store.skip_cell(cell.key, tuning.error)
                outcome = f"skipped: {tuning.error}"
            elif tuning.best is None:
                self.store.fail_cell(cell.key, tuning.error)
                outcome = "failed (no tuned hyperparameters)"
            else:
                try:
                    result = self.run_cell(cell, tuning.best)
                except NotApplicable as exc:
                    self.store.skip_cell(cell.key, str(exc))
                    outcome = f"skipped: {exc}"
                except Exception as exc:
                    self.store.fail_cell(cell.key, "".join(traceback.format_exception_only(exc)).strip())
                    outcome = f"FAILED: {type(exc).__name__}: {exc}"
                else:
                    self.store.finish_cell(cell.key, result)
                    outcome = f"macro-F1 {result.metrics['macro_f1']:.3f}"
            self.progress.cell_done(cell.dataset, cell.strategy, cell.seed, outcome)


def run_study(study: Study, overwrite: bool, progress: PlainProgress) -> RunOutcome:
    """Run or resume a prepared (validated) study and write its report."""
    started = time.perf_counter()
    config = study.config
    for name, dataset in study.datasets.items():  # before the store exists: a bad model writes nothing
        check_builder(*study.models[name], dataset.input_shape, dataset.num_classes)
    directory = config.output_dir
    with study_lock(directory):
        store = Store.for_study(directory, config.to_dict(), config.fingerprint(), overwrite)
        try:
            for name, dataset in study.datasets.items():
                store.add_dataset(name, dataset.class_names, study.models[name][0])
            store.add_cells(list(study.cells))
            store.set_meta(environment=json.dumps(environment()), last_run_started=str(time.time()))
            try:
                Runner(study, store, directory, progress).run()
            finally:
                progress.close()
            store.set_meta(last_run_finished=str(time.time()))
            write_report(store, directory)
            statuses = [row["status"] for row in store.cells()]
        finally:
            store.close()
    return RunOutcome(
        done=statuses.count("done"),
        failed=statuses.count("failed"),
        seconds=time.perf_counter() - started,
        directory=directory,
    )
