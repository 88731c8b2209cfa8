"""The driver: schedule searches and cells, record every result, resume what is unfinished.

Only this process writes the store. Work runs on an executor (in this
process, or in worker processes with --workers); results come back as
futures and each is recorded in one transaction, so a kill loses at most the
cells in flight. Cells already done are skipped on a rerun; a cell that
raises is recorded as failed and the study goes on.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import os
import platform
import shutil
import subprocess
import time
import traceback
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sklearn

from bench import backend
from bench.execution.executors import Executor, make_executor
from bench.execution.plan import Study
from bench.execution.progress import PlainProgress
from bench.execution.tasks import cell_task, preflight, project_name, search_task, tuning_seed
from bench.records import Cell, Classifier, SearchOutcome
from bench.storage.lock import study_lock
from bench.storage.rows import FINAL, Status
from bench.storage.store import Store
from strategies import NotApplicable


@dataclass(frozen=True)
class RunOutcome:
    done: int
    failed: int
    seconds: float
    directory: Path


def git_revision() -> str:
    """The commit of the imbalance-bench source that ran, when it is a git checkout."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return result.stdout.strip() if result.returncode == 0 else "unknown"


def environment(backend_versions: dict[str, str]) -> dict[str, str]:
    """Library versions, backend (as `preflight` found it where the models train) and hardware, for the report's
    provenance section."""
    found = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        **backend_versions,
        "cpu": f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical cores",
        "imbalance-bench revision": git_revision(),
    }
    return found


MODEL_STAGE = "baseline"  # a staged search tunes the model's knobs on this strategy, once per dataset (and seed)


@dataclass(frozen=True)
class Work:
    """A queued task: what runs, what the driver does when it starts and with its result, and the models it trains.

    `models` is the (dataset, search seed) whose searches and cells try the
    same models (paired draws): a worker that ran one of them has those
    models compiled (bench.training.compiled), so the driver gives it the next.
    """

    task: Callable[..., Any]
    args: tuple[Any, ...]
    on_start: Callable[[], None]
    on_result: Callable[[Future], None]
    models: tuple[str, int]


class Runner:
    """Schedules searches and cells on an executor and records each result as it arrives."""

    def __init__(
        self,
        study: Study,
        store: Store,
        directory: Path,
        progress: PlainProgress,
        executor: Executor,
    ) -> None:
        self.study, self.store, self.directory, self.progress = study, store, directory, progress
        self.executor = executor
        self.queue: deque[Work] = deque()
        self.running: dict[Future, Work] = {}
        self.waiting: dict[tuple[str, int], list[tuple[str, list[Cell]]]] = {}  # staged: searches awaiting the model

    def reused_base(self, strategy_name: str) -> str | None:
        """For a post-hoc strategy whose trained counterpart is in the study: that counterpart's name."""
        strategy = self.study.strategies[strategy_name]
        base = strategy.trained().name
        if strategy.posthoc_part is not None and base in self.study.strategies:
            return base
        return None

    def skip_planned(self) -> None:
        """Cells whose strategy said, when the study was planned, that it cannot run on that seed's training fold."""
        status = {row.key: row.status for row in self.store.cells()}
        for cell in self.study.cells:
            if (reason := self.study.skipped.get(cell.key)) and status[cell.key] not in FINAL:
                self.store.start_cell(cell.key)
                self.store.skip_cell(cell.key, reason)
                self.progress.cell_done(cell.dataset, cell.strategy, cell.seed, f"skipped: {reason}")

    def pending_groups(self) -> list[tuple[str, str, list[Cell]]]:
        """(dataset, strategy, unfinished cells of one search) in study order; post-hoc strategies after the rest.

        The searches of one (dataset, seed) come together, strategy after
        strategy: their trials try the same models (paired draws), so a
        worker reuses the models it compiled for one strategy in the next
        (bench.training.compiled).
        """
        status = {row.key: row.status for row in self.store.cells()}
        order = sorted(self.study.strategies, key=lambda name: self.reused_base(name) is not None)
        protocol = self.study.config.protocol
        searches = sorted({protocol.search_of(seed) for seed in protocol.seed_values})
        groups = []
        for dataset in self.study.datasets:
            for search in searches:
                for strategy in order:
                    cells = [
                        c
                        for c in self.study.cells
                        if (c.dataset, c.strategy) == (dataset, strategy)
                        and protocol.search_of(c.seed) == search
                        and status[c.key] not in FINAL
                    ]
                    if cells:
                        groups.append((dataset, strategy, cells))
        return groups

    def run(self) -> None:
        done = sum(row.status is Status.DONE for row in self.store.cells())
        self.progress.start(len(self.study.cells), done)
        if self.executor.in_driver:
            backend.enable_determinism()
        # predict_on_batch retraces once per array shape (validation, test): expected, not news.
        logging.getLogger("tensorflow").setLevel(logging.ERROR)
        self.skip_planned()
        groups = self.pending_groups()
        for dataset, strategy, cells in groups:
            if not self.reused_base(strategy):
                self.start_group(dataset, strategy, cells)
        self.drain()
        for dataset, strategy, cells in groups:  # post-hoc: no training, only the stored logits they extend
            if base := self.reused_base(strategy):
                self.queue_posthoc(dataset, strategy, base, cells)
        self.drain()

    # -- scheduling ------------------------------------------------------------

    def drain(self) -> None:
        """Run queued work, at most `capacity` at a time, until nothing is queued or running."""
        # The models of the tasks that ended, oldest first: their workers are the idle ones (at most `capacity`).
        freed: deque[tuple[str, int]] = deque(maxlen=self.executor.capacity)
        while self.queue or self.running:
            while self.queue and len(self.running) < self.executor.capacity:
                work = self.next_work(freed.popleft() if freed else None)
                work.on_start()
                self.running[self.executor.submit(work.task, *work.args)] = work
            for future in self.executor.wait(self.running):
                work = self.running.pop(future)
                work.on_result(future)
                freed.append(work.models)

    def next_work(self, freed: tuple[str, int] | None) -> Work:
        """The first queued work on the models a just-idle worker has compiled, else on models no worker is
        training, else the first: with workers, each (dataset, seed) tends to stay on one of them.

        A local pool hands a task to its only idle process, which is the one
        whose task just ended; the order changes no number.
        """
        busy = {work.models for work in self.running.values()}
        preferred = [lambda work: work.models == freed, lambda work: work.models not in busy]
        for wanted in preferred if self.executor.capacity > 1 else ():
            for index, work in enumerate(self.queue):
                if wanted(work):
                    del self.queue[index]
                    return work
        return self.queue.popleft()

    def start_group(self, dataset: str, strategy: str, cells: list[Cell]) -> None:
        """Queue the cells of each search that is done, and the searches that are not (per seed, with per-seed tuning).

        With a staged search a strategy's search waits for the model stage
        (baseline's search of the same dataset and seed), whose winner it holds fixed.
        """
        config = self.study.config
        by_search: dict[int, list[Cell]] = {}
        for cell in cells:
            by_search.setdefault(config.protocol.search_of(cell.seed), []).append(cell)
        for seed, mine in by_search.items():
            best = self.store.best_hyperparameters(self.study.search_key(dataset, strategy, seed))
            if best is not None:
                self.queue.extend(self.cell_work(mine, best))
            elif config.protocol.search == "staged" and strategy != MODEL_STAGE:
                stage = self.store.best_hyperparameters(self.study.search_key(dataset, MODEL_STAGE, seed))
                if stage is None:
                    self.waiting.setdefault((dataset, seed), []).append((strategy, mine))
                else:
                    self.queue_search(dataset, strategy, seed, mine, stage)
            else:
                self.queue_search(dataset, strategy, seed, mine, None)

    def queue_search(
        self, dataset: str, strategy: str, seed: int, cells: list[Cell], fixed: dict[str, Any] | None
    ) -> None:
        if any((row.dataset, row.strategy, row.seed) == (dataset, strategy, seed) for row in self.store.searches()):
            shutil.rmtree(self.directory / "tuner" / project_name(dataset, strategy, seed), ignore_errors=True)
        trial_done = self.progress.trial_done if self.executor.in_driver else None  # cannot cross processes
        self.queue.append(
            Work(
                search_task,
                (self.directory, dataset, strategy, trial_done, seed, fixed),
                lambda: self.progress.search(dataset, strategy, self.study.config.protocol.max_trials),
                lambda future: self.searched(dataset, strategy, seed, cells, future),
                (dataset, seed),
            )
        )

    def cell_work(self, cells: list[Cell], best: dict[str, Any], reused: dict[str, Any] | None = None) -> list[Work]:
        """A cell task for each cell; a cell `reused` names scores that model instead of training one (a post-hoc
        strategy's stored base model, or its search's winning trial on the cell's own seed)."""
        protocol = self.study.config.protocol
        return [
            Work(
                cell_task,
                (self.directory, cell, best, (reused or {}).get(cell.key)),
                lambda key=cell.key: self.store.start_cell(key),
                lambda future, cell=cell: self.record(cell, future),
                (cell.dataset, protocol.search_of(cell.seed)),
            )
            for cell in cells
        ]

    # -- recording -------------------------------------------------------------

    def searched(self, dataset: str, strategy: str, seed: int, cells: list[Cell], future: Future) -> None:
        try:
            outcome = future.result()
        except Exception as exc:  # the worker itself died (search_task catches its own failures)
            outcome = SearchOutcome(None, (), 0.0, f"tuning failed: {type(exc).__name__}: {exc}")
        self.store.save_search(self.study.search_key(dataset, strategy, seed), outcome)
        self.progress.search_done(dataset, strategy, outcome.error)
        if strategy == MODEL_STAGE:
            for waiting, waiting_cells in self.waiting.pop((dataset, seed), []):
                if outcome.best is not None:
                    self.queue_search(dataset, waiting, seed, waiting_cells, outcome.best)
                else:
                    self.fail_unsearched(waiting_cells, f"the model stage (baseline's search) failed: {outcome.error}")
        if outcome.best is not None:
            tuned_on = tuning_seed(self.study, dataset, strategy, seed)  # its winner is that seed's final run
            winner = {cell.key: outcome.winner for cell in cells if outcome.winner and cell.seed == tuned_on}
            work = self.cell_work(cells, outcome.best, winner)
            if self.executor.capacity > 1:
                # Searches first: each unlocks its cells, and a search left for last runs alone while
                # the other workers idle. Serially, the order does not change the time, and cells
                # next completes a strategy (and its rows in the report) early.
                self.queue.extend(work)
            else:
                self.queue.extendleft(reversed(work))
            return
        if outcome.not_applicable:
            for cell in cells:
                self.store.start_cell(cell.key)
                self.store.skip_cell(cell.key, outcome.error)
                self.progress.cell_done(cell.dataset, cell.strategy, cell.seed, f"skipped: {outcome.error}")
        else:
            self.fail_unsearched(cells, outcome.error)

    def fail_unsearched(self, cells: list[Cell], error: str) -> None:
        for cell in cells:
            self.store.start_cell(cell.key)
            self.store.fail_cell(cell.key, error)
            self.progress.cell_done(cell.dataset, cell.strategy, cell.seed, "failed (no tuned hyperparameters)")

    def record(self, cell: Cell, future: Future) -> None:
        try:
            result = future.result()
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

    # -- post-hoc strategies ---------------------------------------------------

    def queue_posthoc(self, dataset: str, strategy: str, base: str, cells: list[Cell]) -> None:
        """Score `base`'s stored logits of each seed with the post-hoc strategy: cell tasks that train nothing."""
        for cell in cells:
            key = self.study.search_key(dataset, strategy, self.study.config.protocol.search_of(cell.seed))
            best = self.store.best_hyperparameters(key)
            if best is None:
                best = self.store.best_hyperparameters(self.study.search_key(dataset, base, key.seed))
                error = "" if best is not None else f"no tuned hyperparameters of {base} to reuse"
                self.store.save_search(key, SearchOutcome(best, (), 0.0, error))
            if best is None:
                self.fail_unsearched([cell], f"no tuned hyperparameters of {base} to reuse")
            elif (trained := self.store.trained(dataset, base, cell.seed)) is None:
                self.store.start_cell(cell.key)
                self.store.fail_cell(
                    cell.key,
                    f"RuntimeError: {base} has no finished cell for seed {cell.seed} with validation logits to reuse "
                    "(that cell failed, or the store was migrated from schema 1, which kept none)",
                )
                self.progress.cell_done(dataset, strategy, cell.seed, f"FAILED: no logits of {base} to reuse")
            else:
                # A model stored before its last layer was recorded cannot serve a part that reads it: train anew.
                reusable = not self.study.strategies[strategy].reads_classifier or Classifier.recorded(trained.history)
                self.queue.extend(self.cell_work([cell], best, {cell.key: trained} if reusable else None))


def run_study(
    study: Study,
    overwrite: bool,
    progress: PlainProgress,
    executor: Executor | None = None,
    finish: Callable[[Store, Path], Any] | None = None,
) -> RunOutcome:
    """Run or resume a prepared (validated) study, on `executor` if given (its workers check the models, so
    this process need not load Keras), else its own.

    `finish(store, directory)` runs last, under the study's lock: the command's report.
    """
    started = time.perf_counter()
    config = study.config
    directory = config.run.output_dir
    # The models are checked before the folder exists (a bad model writes nothing): here, where the backend is
    # loaded, before any worker starts (a finished study's rerun starts none); else by the caller's workers.
    backend_versions = preflight(study) if executor is None else None
    with contextlib.ExitStack() as cleanup:  # closed in reverse order
        if not gc.get_freeze_count():  # a caller that froze objects itself keeps them frozen
            backend.freeze_long_lived_objects()
            cleanup.callback(gc.unfreeze)  # a caller that goes on (tests, notebooks) gets its objects collected again
        if executor is None:
            executor = make_executor(study)  # before the folder exists: an unreachable scheduler writes nothing
        cleanup.callback(executor.close)  # (closing twice is harmless)
        backend_versions = backend_versions or executor.submit(preflight).result()
        cleanup.enter_context(study_lock(directory))
        cleanup.callback(executor.close)  # workers stop before the lock is released
        settings = {**config.to_dict(), "workers": executor.capacity}  # how many ran, also when "auto" chose
        store = cleanup.enter_context(Store.for_study(directory, settings, config.fingerprint(), overwrite))
        backend.check_resumable(
            backend.recorded_backend(store.meta("backend"), store.meta("environment")), backend_versions["backend"]
        )
        for name, dataset in study.datasets.items():
            store.add_dataset(name, dataset.class_names, study.models[name].name)
        store.add_cells(list(study.cells))
        store.set_meta(
            backend=backend_versions["backend"],
            environment=json.dumps(environment(backend_versions)),
            last_run_started=str(time.time()),
        )
        try:
            Runner(study, store, directory, progress, executor).run()
        finally:
            progress.close()
        store.set_meta(last_run_finished=str(time.time()))
        if finish is not None:
            finish(store, directory)
        statuses = [row.status for row in store.cells()]
    return RunOutcome(
        done=statuses.count(Status.DONE),
        failed=statuses.count(Status.FAILED),
        seconds=time.perf_counter() - started,
        directory=directory,
    )
