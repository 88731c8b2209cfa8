"""What runs inside a worker process, local or on dask: the study prepared once from its config, then its tasks.

Workers are spawned (not forked: the driver has its backend loaded) and set
the driver's backend and their share of the CPU before Keras loads.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from bench.backend import (
    enable_determinism,
    freeze_long_lived_objects,
    limit_threads,
    load_backend,
    prepare_backend_environment,
    start_up_lines_hidden,
)
from bench.errors import UserError
from bench.execution.plan import Study

Task = Callable[..., Any]

_WORKER_STUDY: Study | None = None
_START_FAILURE: UserError | None = None  # why this worker cannot run tasks (its backend does not load)


def prepare_worker(config: dict[str, Any], threads: int, backend: str) -> None:
    """Once per worker, before any model: the driver's backend, its thread share, determinism, the study.

    The backend is set, not inherited: a dask worker on another machine may
    have another KERAS_BACKEND, and a study never mixes backends.
    """
    global _WORKER_STUDY, _START_FAILURE
    os.environ["KERAS_BACKEND"] = backend
    os.environ["OMP_NUM_THREADS"] = str(threads)
    prepare_backend_environment()
    with start_up_lines_hidden():  # the backend, the tasks and the training code, imported before the freeze below
        try:
            load_backend()
        except UserError as exc:  # raised by every task instead, so the driver says it in one line (not a traceback)
            _START_FAILURE = exc
            return
        import bench.execution.tasks  # noqa: F401
        import bench.training.tuning  # noqa: F401
    from bench.config import build_config
    from bench.execution.plan import prepare

    limit_threads(threads)
    enable_determinism()
    _WORKER_STUDY = prepare(build_config(config, {}))
    freeze_long_lived_objects()


def in_worker(task: Task, *args: Any) -> Any:
    if _START_FAILURE is not None:
        raise _START_FAILURE
    assert _WORKER_STUDY is not None, "worker started without a study"
    return task(_WORKER_STUDY, *args)


def spawned_pool(workers: int, initializer: Callable[..., None], *initargs: Any) -> ProcessPoolExecutor:
    """Processes started fresh (spawn), not forked from a parent that has the backend loaded."""
    context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(workers, mp_context=context, initializer=initializer, initargs=initargs)
