"""The Keras backend: loaded with a one-line error, and every backend-specific setting in this one module.

Keras picks its backend once, at import, from KERAS_BACKEND (or
~/.keras/keras.json), and a backend package that is not installed surfaces
as a ModuleNotFoundError from Keras's internals. What differs between
TensorFlow, JAX and PyTorch (determinism, threads, GPUs, the input path,
memory) is asked of this module, so no other module compares backend names.
"""

from __future__ import annotations

import contextlib
import gc
import importlib.util
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from bench.errors import UserError
from bench.user_cache import cache_directory

BACKENDS = ("tensorflow", "jax", "torch")
VERBOSE = "IMBALANCE_BENCH_VERBOSE"  # set by --verbose; worker processes inherit it
# What TensorFlow's C++ runtime prints when it loads, whatever TF_CPP_MIN_LOG_LEVEL says: absl's warning that
# logging is not initialised, then glog-style lines (oneDNN, cudart, CPU features).
_NATIVE_LINE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IWE]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w.]+:\d+\] )"
)


@contextlib.contextmanager
def start_up_lines_hidden() -> Iterator[None]:
    """Whatever loads a backend in this block keeps its C++ start-up lines off stderr (unless --verbose).

    They are written by native code straight to file descriptor 2, past
    Python's sys.stderr, so the descriptor is pointed at a file for the block
    and everything else written there (a Python warning) is passed on after
    it. Processes started inside the block would inherit the file: start them
    outside.
    """
    if os.environ.get(VERBOSE):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            text = captured.read().decode("utf-8", errors="replace")
            kept = [line for line in text.splitlines(keepends=True) if not _NATIVE_LINE.match(line)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


def prepare_backend_environment() -> None:
    """Settings each backend reads once, at import: set before Keras loads, in the driver and every worker.

    JAX otherwise takes 75% of each GPU's memory at its first operation,
    leaving none to a second worker process on that GPU.

    JAX also gets its persistent compilation cache, unless the user chose
    one: each new Keras model brings new jitted functions, so JAX's in-memory
    cache misses even when only the seed changed, while the persistent cache
    is keyed by the compiled program itself. Every seed after the first of a
    tuned model, and every rerun, then skips XLA's compile, most of a JAX
    model's fixed cost. The same program runs, so results are bit-identical.
    A cached program is code that runs: it belongs in the user's cache, never
    in a study folder.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
        os.environ["JAX_COMPILATION_CACHE_DIR"] = str(cache_directory() / "jax")
        os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"  # ours compile in well under JAX's 1 s
        os.environ["JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"] = "-1"


def configured_backend() -> str:
    """The backend Keras will load: KERAS_BACKEND, else the keras.json of KERAS_HOME (~/.keras), else tensorflow."""
    if name := os.environ.get("KERAS_BACKEND"):
        return name
    config = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras") / "keras.json"
    try:
        return str(json.loads(config.read_text()).get("backend") or "tensorflow")
    except (OSError, ValueError, AttributeError):
        return "tensorflow"


def backend_installed(name: str) -> bool:
    """Whether `name` is a backend Keras knows and its package is installed, found without importing it."""
    return name in BACKENDS and importlib.util.find_spec(name) is not None


def load_backend() -> str:
    """Import Keras and return its backend's name, or refuse with how to install one."""
    prepare_backend_environment()
    try:
        import keras
    except (ImportError, ValueError) as exc:  # ValueError: a backend name Keras does not know
        wanted = configured_backend()
        extra = wanted if wanted in BACKENDS else "tensorflow"
        raise UserError(
            f"Keras cannot load its '{wanted}' backend ({exc}); install it with "
            f"pip install 'imbalance-bench[{extra}]', or set KERAS_BACKEND to an installed one "
            f"({', '.join(BACKENDS)})"
        ) from None
    return keras.backend.backend()


def recorded_backend(meta_backend: str | None, environment: str | None) -> str | None:
    """The backend a store was run with; stores older than the 'backend' entry have it in their environment."""
    if meta_backend:
        return meta_backend
    try:
        return json.loads(environment or "{}").get("backend") or None
    except (ValueError, AttributeError):
        return None


def check_resumable(recorded: str | None, current: str) -> None:
    """Refuse to mix backends in one study: the same seed gives different numbers on each."""
    if recorded and recorded != current:
        raise UserError(
            f"this study was run with the {recorded} backend, not {current}; set KERAS_BACKEND={recorded} "
            "to resume it, or choose another --out (or --overwrite) to run it on this backend"
        )


def freeze_long_lived_objects() -> None:
    """Exempt everything alive now (imported libraries, the study's data) from cyclic garbage collection.

    Python collects on its own as a study allocates, and keras-tuner's
    Hyperband calls gc.collect() once per trial. A collection walks every
    tracked object, and TensorFlow's import alone leaves hundreds of
    thousands: 0.19 s per collection, about 40% of a small trial. Frozen
    objects are still freed by reference counting, but their cycles are never
    collected, so this runs once the process holds only what it keeps anyway;
    models and graphs made later are collected as before.
    """
    gc.collect()
    gc.freeze()


def forget_dead_custom_gradients() -> None:
    """TensorFlow only: drop the gradient functions that earlier models' traced train steps registered.

    In graph mode every tf.custom_gradient call registers its gradient function
    in TensorFlow's process-wide registry and never removes it, and Keras's
    TensorFlow optimizer makes one per traced train step (its gradient
    all-reduce). Each function holds its whole FuncGraph: resident memory grew
    by 5 MB a trial, +30% over 50 (memory growing with every fit in a loop is
    reported as tensorflow/tensorflow#61791). Call it right after
    clear_session, when no earlier model can be traced again; the registry is
    private, so this does nothing if TensorFlow moves it.
    """
    if active() != "tensorflow":
        return
    from tensorflow.python.framework import ops

    registry = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    if isinstance(registry, dict):
        for name in [n for n in registry if isinstance(n, str) and n.startswith("CustomGradient-")]:
            del registry[name]


def active() -> str:
    """The backend of the loaded Keras."""
    import keras

    return keras.backend.backend()


def chosen() -> str:
    """The backend this process runs: the loaded Keras's, else the one Keras would load."""
    return active() if "keras" in sys.modules else configured_backend()


def enable_determinism() -> None:
    """Ask TensorFlow for deterministic kernels (JAX and PyTorch on CPU are already); seeding happens per model."""
    if active() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


def limit_threads(threads: int) -> None:
    """A worker's share of the CPU: OMP_NUM_THREADS is read at import, TensorFlow's pools are set here."""
    if active() == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)


def feeds_one_tf_dataset() -> bool:
    """Whether fits take their batches as one tf.data iterator (bench.training.tf_input) instead of a PyDataset."""
    return active() == "tensorflow"


def reads_fold_statistics_as_variables() -> bool:
    """Whether the built-in models read the fold's statistics as variables (FoldNormalization), so that one
    compiled model serves every fold, or as the constants of Keras's Normalization.

    Not on JAX: XLA compiles Keras's constants into the jitted train step, and
    the same arithmetic on variables ends some fits with other weights (one
    trial of the default study's 100 chose another winner), so JAX keeps
    Keras's layer and the numbers it gave.
    """
    return active() != "jax"


def gpu_count() -> int:
    """GPUs the loaded backend sees."""
    name = active()
    if name == "tensorflow":
        import tensorflow as tf

        return len(tf.config.list_physical_devices("GPU"))
    if name == "jax":
        import jax

        return sum(device.platform == "gpu" for device in jax.devices())
    if name == "torch":
        import torch

        return torch.cuda.device_count()
    return 0


def share_gpu_memory() -> None:
    """Let TensorFlow take GPU memory as needed instead of all of it at the first op.

    The driver builds models to check them; by default that would reserve every
    GPU's memory and leave none to the workers pinned to those GPUs.
    """
    if active() == "tensorflow":
        import tensorflow as tf

        for gpu in tf.config.list_physical_devices("GPU"):
            tf.config.experimental.set_memory_growth(gpu, True)


def versions() -> dict[str, str]:
    """The backend's name and, for TensorFlow, its version and the GPUs it sees (the report's provenance)."""
    found = {"backend": active()}
    if found["backend"] == "tensorflow":
        import tensorflow as tf

        found["tensorflow"] = tf.__version__
        found["gpus"] = ", ".join(d.name for d in tf.config.list_physical_devices("GPU")) or "none"
    return found
