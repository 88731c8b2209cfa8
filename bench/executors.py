"""Where a study's tasks run: in the driver, or in local worker processes.

Both take `submit(task, *args)` where `task(study, *args)` is a function of
bench.tasks, and both hand back futures; the driver alone writes the store.
Workers are spawned (not forked: the driver has TensorFlow loaded), prepare
the study once each from its config, and get an equal share of the CPU
threads, or one GPU each when the driver sees GPUs.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from bench.plan import Study

Task = Callable[..., Any]


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

    def close(self) -> None:
        """Nothing runs in the background."""


_WORKER_STUDY: Study | None = None


def _start_worker(config: dict[str, Any], threads: int, gpus: list[str], counter: Any) -> None:
    """Runs once in each worker, before any model: pin its GPU or its thread share, then prepare the study."""
    global _WORKER_STUDY
    with counter.get_lock():
        index = counter.value
        counter.value += 1
    if gpus:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpus[index % len(gpus)]
    os.environ["OMP_NUM_THREADS"] = str(threads)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    from bench.config import build_config
    from bench.plan import prepare
    from bench.training import enable_determinism

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    enable_determinism()
    _WORKER_STUDY = prepare(build_config(config, {}))


def _in_worker(task: Task, *args: Any) -> Any:
    assert _WORKER_STUDY is not None, "worker started without a study"
    return task(_WORKER_STUDY, *args)


class ProcessExecutor:
    """Tasks in `workers` spawned processes; a task's result travels back to the driver by pickling."""

    def __init__(self, study: Study, workers: int) -> None:
        context = multiprocessing.get_context("spawn")
        gpus = visible_gpus()
        threads = 1 if gpus else max(1, (os.cpu_count() or 1) // workers)
        self.capacity = workers
        self.pool = ProcessPoolExecutor(
            workers,
            mp_context=context,
            initializer=_start_worker,
            initargs=(study.config.to_dict(), threads, gpus, context.Value("i", 0)),
        )

    def submit(self, task: Task, *args: Any) -> Future:
        return self.pool.submit(_in_worker, task, *args)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def visible_gpus() -> list[str]:
    """CUDA device ids of the GPUs the driver sees, as CUDA_VISIBLE_DEVICES names them (TensorFlow only)."""
    import keras

    if keras.backend.backend() != "tensorflow":
        return []
    import tensorflow as tf

    count = len(tf.config.list_physical_devices("GPU"))
    inherited = [d for d in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if d.strip()]
    return (inherited or [str(i) for i in range(count)])[:count]


def make_executor(study: Study, workers: int) -> SerialExecutor | ProcessExecutor:
    return SerialExecutor(study) if workers <= 1 else ProcessExecutor(study, workers)
