"""Where a study's tasks run: the executor protocol, and the choice between serial, local processes and dask.

All take `submit(task, *args)` where `task(study, *args)` is a function of
bench.execution.tasks, and hand back futures; the driver alone writes the store.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from bench.backend import active
from bench.execution.local import ProcessExecutor, SerialExecutor, visible_gpus, worker_count
from bench.execution.plan import Study
from bench.execution.workers import Task


class Executor(Protocol):
    capacity: int
    in_driver: bool  # tasks run in the driver's process, so a task may call back into it (progress per trial)

    def submit(self, task: Task, *args: Any) -> Any: ...

    def wait(self, futures: Iterable[Any]) -> set[Any]: ...

    def close(self) -> None: ...


def make_executor(study: Study) -> Executor:
    """Serial, local processes (--workers), or dask (--scheduler / executor = "dask")."""
    config = study.config
    if config.run.executor == "dask":
        from bench.execution.dask_cluster import DaskExecutor  # distributed is an optional extra

        return DaskExecutor(study, config.run.scheduler, worker_count(config.run.workers, gpus=[]))
    gpus = visible_gpus()
    workers = worker_count(config.run.workers, gpus, live=config.run.live)
    if workers <= 1:
        return SerialExecutor(study)
    return ProcessExecutor(study, workers, active(), gpus)
