"""Files that are whole or absent: written beside the target, then renamed into place.

A kill, a full disk or a failing writer during a write leaves the previous
file (or none), never half of one: os.replace is atomic within a folder, and
the partial file is removed when writing fails.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


def slug(text: str) -> str:
    """A file or folder name for a spec: its brackets, commas and slashes become underscores."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)[:80]


@contextmanager
def replacing(path: Path) -> Iterator[BinaryIO]:
    """A binary handle whose content becomes `path` only when the block finishes."""
    partial = path.with_name(path.name + ".partial")
    try:
        with open(partial, "wb") as handle:
            yield handle
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def write_atomically(path: Path, data: bytes | str) -> None:
    with replacing(path) as handle:
        handle.write(data.encode("utf-8") if isinstance(data, str) else data)
