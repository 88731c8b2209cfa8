"""One `bench run` per study folder at a time.

Two drivers on one folder would train the same pending cells twice and race on
keras-tuner's project files. The lock is an OS lock (flock) on DIR/.lock: the
kernel releases it when its process ends, however it ends, so a lock left by a
killed run is never mistaken for a live one. The file holds the holder's PID
for the message; readers (status, report, export) need no lock.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.errors import UserError

LOCK_NAME = ".lock"

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock; runs are not guarded there
    fcntl = None  # type: ignore[assignment]


@contextmanager
def study_lock(directory: Path) -> Iterator[None]:
    """Hold the folder's lock for the block; refuse at once if another live process holds it."""
    if fcntl is None:  # pragma: no cover
        yield
        return
    try:
        directory.mkdir(parents=True, exist_ok=True)
        handle = open(directory / LOCK_NAME, "a+")  # noqa: SIM115 - held open for the whole block
    except OSError as exc:
        raise UserError(f"cannot create output folder {directory}: {exc.strerror}") from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise UserError(
                f"{directory} is in use by another 'bench run' (process {holder}); "
                "wait for it to finish, or give this run another --out"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        handle.close()  # closing releases the lock
