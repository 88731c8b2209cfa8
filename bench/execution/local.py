"""Tasks in the driver (serial) or in local worker processes (--workers), each with its share of CPU threads or a GPU.

On a machine without a GPU device the workers start at once, and the driver
leaves Keras to them (start_workers_early).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from bench.backend import backend_installed, chosen
from bench.execution.plan import Study
from bench.execution.workers import Task, in_worker, prepare_worker, spawned_pool
from bench.storage.store import study_finished


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity mask where the OS has one, as under taskset or SLURM)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def worker_count(requested: int | str, gpus: list[str], live: bool = False) -> int:
    """The worker processes a study runs: the number asked for, or with "auto" one per GPU, else one per usable core
    (one under `--live`, so its per-epoch reports come as one stream rather than interleaved).

    Most of a small model's fit is single-threaded Python and Keras's fixed
    cost, so processes use cores that a single process's thread pools leave
    idle; the numbers do not depend on how many run.
    """
    if requested != "auto":
        return int(requested)
    if live:
        return 1
    return len(gpus) if gpus else usable_cores()


def first_completed(futures: Iterable[Future]) -> set[Future]:
    return wait(futures, return_when=FIRST_COMPLETED).done


class SerialExecutor:
    """Runs each task in the driver as it is submitted; exceptions land in the future, Ctrl-C does not."""

    capacity = 1
    in_driver = True

    def __init__(self, study: Study) -> None:
        self.study = study

    def submit(self, task: Task, *args: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(task(self.study, *args))
        except Exception as exc:  # a failing task fails its cell or search, not the study
            future.set_exception(exc)
        return future

    def wait(self, futures: Iterable[Future]) -> set[Future]:
        return first_completed(futures)

    def close(self) -> None:
        """Nothing runs in the background."""


def _start_worker(config: dict[str, Any], threads: int, backend: str, gpus: list[str], counter: Any) -> None:
    """Runs once in each pool worker: pin its GPU (by start order) before the backend loads."""
    with counter.get_lock():
        index = counter.value
        counter.value += 1
    if gpus:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpus[index % len(gpus)]
    prepare_worker(config, threads, backend)


class ProcessExecutor:
    """Tasks in `workers` spawned processes; a task's result travels back to the driver by pickling."""

    in_driver = False

    def __init__(self, study: Study, workers: int, backend: str, gpus: list[str], start_now: bool = False) -> None:
        """Workers start at the first tasks; with `start_now`, at once, so their imports overlap the driver's."""
        threads = 1 if gpus else max(1, usable_cores() // workers)
        self.capacity = workers
        config, counter = study.config.to_dict(), multiprocessing.get_context("spawn").Value("i", 0)
        self.start_pool = lambda: spawned_pool(workers, _start_worker, config, threads, backend, gpus, counter)
        self.pool = self.start_pool()
        if start_now:
            for _ in range(workers):  # one submit spawns one process (while none is idle)
                self.pool.submit(os.getpid)

    def submit(self, task: Task, *args: Any) -> Future:
        """A worker that died (killed, out of memory) fails the tasks it ran; later tasks get a new pool."""
        try:
            return self.pool.submit(in_worker, task, *args)
        except BrokenProcessPool:
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = self.start_pool()
            return self.pool.submit(in_worker, task, *args)

    def wait(self, futures: Iterable[Future]) -> set[Future]:
        return first_completed(futures)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def visible_gpus() -> list[str]:
    """CUDA device ids of the GPUs the driver's backend sees, as CUDA_VISIBLE_DEVICES names them."""
    from bench.backend import gpu_count

    count = gpu_count()
    inherited = [d for d in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if d.strip()]
    return (inherited or [str(i) for i in range(count)])[:count]


def gpu_device_present(devices: Path = Path("/dev")) -> bool:
    """Whether this machine could have a GPU: a CUDA or ROCm device node on Linux; elsewhere, assume it could."""
    if not sys.platform.startswith("linux"):
        return True
    return any(devices.glob("nvidia[0-9]*")) or (devices / "kfd").exists()


def start_workers_early(study: Study, overwrite: bool) -> ProcessExecutor | None:
    """Local workers started at once, on a machine with no GPU; else None.

    A worker's start (spawn, imports, preparing the study) takes seconds of
    CPU and overlaps the driver's own setup. The driver of these workers
    does not load Keras itself (they check the models too: tasks.preflight),
    so its import does not share the cores with theirs before the first task.
    Which GPU a worker gets must be fixed before its backend loads, and only
    a loaded backend counts GPUs, so machines that
    may have one keep starting workers at the first task (make_executor). A
    rerun of a finished study starts none: it would only wait for them.
    """
    config = study.config
    if config.run.executor == "dask" or gpu_device_present():
        return None
    workers = worker_count(config.run.workers, gpus=[], live=config.run.live)
    if workers <= 1:
        return None
    if not overwrite and study_finished(config.run.output_dir, config.fingerprint()):
        return None
    backend = chosen()
    if not backend_installed(backend):  # the driver's load_backend says so in one line, before any worker starts
        return None
    return ProcessExecutor(study, workers, backend, gpus=[], start_now=True)
