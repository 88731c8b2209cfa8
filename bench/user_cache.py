"""Where imbalance-bench keeps what it can always recompute: decoded image folders, compiled JAX programs.

Outside every study folder, so a study folder stays data that is safe to
share, and shared by all of one user's studies, so a rerun reuses the work.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_directory() -> Path:
    """$IMBALANCE_BENCH_CACHE, else the user cache folder (XDG)."""
    if explicit := os.environ.get("IMBALANCE_BENCH_CACHE"):
        return Path(explicit)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "imbalance-bench"
