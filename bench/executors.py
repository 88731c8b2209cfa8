"""Where a study's tasks run: in the driver, in local worker processes, or on dask (bench.dask_executor).

All take `submit(task, *args)` where `task(study, *args)` is a function of
bench.tasks, and hand back futures; the driver alone writes the store.
Workers are spawned (not forked: the driver has TensorFlow loaded), prepare
the study once each from its config, and get an equal share of the CPU
threads, or one GPU each when the driver sees GPUs. On a machine without a
GPU device they start before the driver loads Keras (start_workers_early).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Protocol

from bench.backend import backend_installed, configured_backend, prepare_backend_environment
from bench.plan import Study
from bench.store import study_finished

Task = Callable[..., Any]


class Executor(Protocol):
    capacity: int

    def submit(self, task: Task, *args: Any) -> Any: ...

    def wait(self, futures: Iterable[Any]) -> set[Any]: ...

    def close(self) -> None: ...


def first_completed(futures: Iterable[Future]) -> set[Future]:
    return wait(futures, return_when=FIRST_COMPLETED).done


class SerialExecutor:
    """Runs each task in the driver as it is submitted; exceptions land in the future, Ctrl-C does not."""

    capacity = 1

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


_WORKER_STUDY: Study | None = None


def _start_worker(config: dict[str, Any], threads: int, backend: str, gpus: list[str], counter: Any) -> None:
    """Runs once in each pool worker: pin its GPU (by start order) before the backend loads."""
    with counter.get_lock():
        index = counter.value
        counter.value += 1
    if gpus:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpus[index % len(gpus)]
    prepare_worker(config, threads, backend)


def prepare_worker(config: dict[str, Any], threads: int, backend: str) -> None:
    """Once per worker, before any model: the driver's backend, its thread share, determinism, the study.

    The backend is set, not inherited: a dask worker on another machine may
    have another KERAS_BACKEND, and a study never mixes backends.
    """
    global _WORKER_STUDY
    os.environ["KERAS_BACKEND"] = backend
    os.environ["OMP_NUM_THREADS"] = str(threads)
    prepare_backend_environment()
    import keras

    import bench.tasks  # noqa: F401  (imported before the freeze below, not with the first task)
    from bench.backend import freeze_long_lived_objects
    from bench.config import build_config
    from bench.plan import prepare
    from bench.training import enable_determinism

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    enable_determinism()
    _WORKER_STUDY = prepare(build_config(config, {}))
    freeze_long_lived_objects()


def _in_worker(task: Task, *args: Any) -> Any:
    assert _WORKER_STUDY is not None, "worker started without a study"
    return task(_WORKER_STUDY, *args)


class ProcessExecutor:
    """Tasks in `workers` spawned processes; a task's result travels back to the driver by pickling."""

    def __init__(self, study: Study, workers: int, backend: str, gpus: list[str], start_now: bool = False) -> None:
        """Workers start at the first tasks; with `start_now`, at once, so their imports overlap the driver's."""
        threads = 1 if gpus else max(1, (os.cpu_count() or 1) // workers)
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
            return self.pool.submit(_in_worker, task, *args)
        except BrokenProcessPool:
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = self.start_pool()
            return self.pool.submit(_in_worker, task, *args)

    def wait(self, futures: Iterable[Future]) -> set[Future]:
        return first_completed(futures)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def spawned_pool(workers: int, initializer: Callable[..., None], *initargs: Any) -> ProcessPoolExecutor:
    """Processes started fresh (spawn), not forked from a parent that has the backend loaded."""
    context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(workers, mp_context=context, initializer=initializer, initargs=initargs)


def visible_gpus() -> list[str]:
    """CUDA device ids of the GPUs the driver's backend sees, as CUDA_VISIBLE_DEVICES names them."""
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        count = len(tf.config.list_physical_devices("GPU"))
    elif backend == "jax":
        import jax

        count = sum(device.platform == "gpu" for device in jax.devices())
    elif backend == "torch":
        import torch

        count = torch.cuda.device_count()
    else:
        count = 0
    inherited = [d for d in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if d.strip()]
    return (inherited or [str(i) for i in range(count)])[:count]


def gpu_device_present(devices: Path = Path("/dev")) -> bool:
    """Whether this machine could have a GPU: a CUDA or ROCm device node on Linux; elsewhere, assume it could."""
    if not sys.platform.startswith("linux"):
        return True
    return any(devices.glob("nvidia[0-9]*")) or (devices / "kfd").exists()


def start_workers_early(study: Study, overwrite: bool) -> ProcessExecutor | None:
    """Local workers started before the driver imports Keras, on a machine with no GPU; else None.

    A worker's start (spawn, imports, preparing the study) and the driver's
    own Keras import each take seconds of CPU; started together they overlap
    instead of queueing. Which GPU a worker gets must be fixed before its
    backend loads, and only a loaded backend counts GPUs, so machines that
    may have one keep starting workers at the first task (make_executor). A
    rerun of a finished study starts none: it would only wait for them.
    """
    config = study.config
    if config.executor == "dask" or config.workers <= 1 or gpu_device_present():
        return None
    if not overwrite and study_finished(config.output_dir, config.fingerprint()):
        return None
    backend = sys.modules["keras"].backend.backend() if "keras" in sys.modules else configured_backend()
    if not backend_installed(backend):  # the driver's load_backend says so in one line; workers would trace back
        return None
    return ProcessExecutor(study, config.workers, backend, gpus=[], start_now=True)


def make_executor(study: Study) -> Executor:
    """Serial, local processes (--workers), or dask (--scheduler / executor = "dask")."""
    config = study.config
    if config.executor == "dask":
        from bench.dask_executor import DaskExecutor  # distributed is an optional extra

        return DaskExecutor(study, config.scheduler, config.workers)
    if config.workers <= 1:
        return SerialExecutor(study)
    import keras

    return ProcessExecutor(study, config.workers, keras.backend.backend(), visible_gpus())
