"""The study's tasks on a dask.distributed cluster (the optional `dask` extra).

Each dask worker hands its tasks to one child process of its own, which
prepares the study from its config. The child is not a nicety: Keras draws
default layer seeds from Python's process-wide `random`, and a dask worker's
own threads draw from it too, so training inside the worker itself would not
repeat (measured: two runs of one cell drew different dropout seeds). In the
child nothing else runs, and the numbers equal a local run's.

Datasets are never shipped through the scheduler, so paths in the config
must resolve on the workers (a shared file system, as for keras-tuner's
project folders). A task lost with its worker runs again on another one (the
scheduler's own retry of lost tasks); a task that raises is not retried.
Workers must be allowed children: start them with
DASK_DISTRIBUTED__WORKER__DAEMON=False (a cluster whose workers are not is
refused before anything is written). Without an address, a LocalCluster on
the loopback interface is started, so nothing listens beyond this machine.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import dask
from distributed import Client, Future, LocalCluster, WorkerPlugin, get_worker, wait

from bench.backend import active
from bench.errors import UserError
from bench.execution.plan import Study
from bench.execution.workers import Task, in_worker, prepare_worker, spawned_pool

CONNECT_SECONDS = 20
PLUGIN = "imbalance-bench-study"


class StudyProcess(WorkerPlugin):
    """On every worker that joins: one child process, holding the prepared study, that runs its tasks."""

    def __init__(self, config: dict[str, Any], backend: str) -> None:
        self.config, self.backend = config, backend
        self.pool: ProcessPoolExecutor | None = None

    def setup(self, worker: Any) -> None:
        threads = max(1, int(getattr(worker, "nthreads", 1) or 1))
        self.pool = spawned_pool(1, prepare_worker, self.config, threads, self.backend)

    def teardown(self, worker: Any) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)


def _in_study_process(task: Task, *args: Any) -> Any:
    """Run in the worker's child; a child that died fails this task, and the next one gets a new child."""
    worker = get_worker()
    plugin = worker.plugins[PLUGIN]
    try:
        future = plugin.pool.submit(in_worker, task, *args)
    except BrokenProcessPool:
        plugin.teardown(worker)
        plugin.setup(worker)
        future = plugin.pool.submit(in_worker, task, *args)
    return future.result()


def _is_daemonic() -> bool:
    """Run on each worker: a daemonic process (dask's default) may not have children, and every task needs one."""
    return multiprocessing.current_process().daemon


class DaskExecutor:
    in_driver = False

    def __init__(self, study: Study, scheduler: str, workers: int) -> None:
        self.cluster: LocalCluster | None = None
        try:
            if scheduler:
                self.client = Client(scheduler, timeout=CONNECT_SECONDS)
            else:
                with dask.config.set({"distributed.worker.daemon": False}):  # workers start a child each
                    self.cluster = LocalCluster(
                        n_workers=workers,
                        threads_per_worker=1,
                        processes=True,
                        host="127.0.0.1",
                        dashboard_address=None,
                    )
                self.client = Client(self.cluster)
        except (OSError, TimeoutError, ValueError) as exc:  # ValueError: not a scheduler address (a dashboard URL)
            raise UserError(
                f"cannot reach the dask scheduler at {scheduler}: {exc}; start one with 'dask scheduler' "
                "and workers with 'dask worker ADDRESS' (see README)"
            ) from None
        answers = self.client.run(_is_daemonic)
        if daemonic := [address for address, daemon in answers.items() if daemon]:
            self.close()
            raise UserError(
                f"{len(daemonic)} of {len(answers)} dask workers at {scheduler} are daemonic processes, which may "
                "not start the child process each task runs in; restart them with "
                f"DASK_DISTRIBUTED__WORKER__DAEMON=False dask worker {scheduler}"
            )
        self.client.register_plugin(StudyProcess(study.config.to_dict(), active()), name=PLUGIN)
        self.capacity = max(1, len(self.client.nthreads()))  # one child process, so one task, per worker

    def submit(self, task: Task, *args: Any) -> Future:
        return self.client.submit(_in_study_process, task, *args, pure=False)

    def wait(self, futures: Iterable[Future]) -> set[Future]:
        return set(wait(list(futures), return_when="FIRST_COMPLETED").done)

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()
