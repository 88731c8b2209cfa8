"""Files that are whole or absent: written beside the target, then renamed into place.

A kill, a full disk or a failing writer during a write leaves the previous
file (or none), never half of one: os.replace is atomic within a folder, and
the partial file is removed when writing fails.
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


def slug(text: str) -> str:
    """A file or folder name for a spec: readable, and unique per text.

    Brackets, commas and slashes become underscores and long names are cut,
    so a hash of the whole text keeps two long specs that share a beginning
    (a CSV path with different strategies) from sharing a folder.
    """
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", text)[:60]
    return f"{readable}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"


@contextmanager
def replacing(path: Path) -> Iterator[BinaryIO]:
    """A binary handle whose content becomes `path` only when the block finishes.

    Each writer gets its own temporary name, so two processes writing the same
    file (a `bench report` during a run) never write into one partial file;
    it is opened like any file, so the result gets the usual permissions.
    """
    partial = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.partial")
    try:
        with open(partial, "wb") as handle:
            yield handle
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    remove_abandoned(path)


def remove_abandoned(path: Path) -> None:
    """Partial files of `path` whose writer process no longer exists (it was killed mid-write)."""
    for partial in path.parent.glob(f".{glob.escape(path.name)}.*.partial"):
        pid = partial.name[len(path.name) + 2 :].split("-", 1)[0]
        if pid.isdigit() and not alive(int(pid)):
            partial.unlink(missing_ok=True)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def write_atomically(path: Path, data: bytes | str) -> None:
    with replacing(path) as handle:
        handle.write(data.encode("utf-8") if isinstance(data, str) else data)
