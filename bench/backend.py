"""The Keras backend, loaded with a one-line error instead of a traceback deep inside Keras.

Keras picks its backend once, at import, from KERAS_BACKEND (or
~/.keras/keras.json), and a backend package that is not installed surfaces
as a ModuleNotFoundError from Keras's internals.
"""

from __future__ import annotations

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
