"""The Keras backend, loaded with a one-line error instead of a traceback deep inside Keras.

Keras picks its backend once, at import, from KERAS_BACKEND (or
~/.keras/keras.json), and a backend package that is not installed surfaces
as a ModuleNotFoundError from Keras's internals.
"""

from __future__ import annotations

import gc
import os

from bench.errors import UserError

BACKENDS = ("tensorflow", "jax", "torch")


def load_backend() -> str:
    """Import Keras and return its backend's name, or refuse with how to install one."""
    try:
        import keras
    except (ImportError, ValueError) as exc:  # ValueError: a backend name Keras does not know
        wanted = os.environ.get("KERAS_BACKEND", "tensorflow")
        extra = wanted if wanted in BACKENDS else "tensorflow"
        raise UserError(
            f"Keras cannot load its '{wanted}' backend ({exc}); install it with "
            f"pip install 'imbalance-bench[{extra}]', or set KERAS_BACKEND to an installed one "
            f"({', '.join(BACKENDS)})"
        ) from None
    return keras.backend.backend()


def check_resumable(recorded: str | None, current: str) -> None:
    """Refuse to mix backends in one study: the same seed gives different numbers on each."""
    if recorded and recorded != current:
        raise UserError(
            f"this study was run with the {recorded} backend, not {current}; set KERAS_BACKEND={recorded} "
            "to resume it, or choose another --out (or --overwrite) to run it on this backend"
        )


def freeze_long_lived_objects() -> None:
    """Exempt everything alive now (imported libraries, the study's data) from cyclic garbage collection.

    keras-tuner runs gc.collect() before every trial and Keras's clear_session
    runs it again. A collection walks every tracked object, and TensorFlow's
    import alone leaves hundreds of thousands: 0.19 s per collection, about
    40% of a small trial. Frozen objects are never freed, so this runs once
    the process holds only what it keeps anyway; models and graphs made later
    are collected as before.
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
    import keras

    if keras.backend.backend() != "tensorflow":
        return
    from tensorflow.python.framework import ops

    registry = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    if isinstance(registry, dict):
        for name in [n for n in registry if isinstance(n, str) and n.startswith("CustomGradient-")]:
            del registry[name]
