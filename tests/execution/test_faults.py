"""kill -9 at many moments of a study: a rerun finishes it with every cell once and the same numbers.

Each killed run is a real process that SIGKILLs itself at the n-th event of a
kind, so the store, keras-tuner's files and the report are left exactly as a
crash or power cut would leave them. The fast test goes through each kind of
moment once; the slow one (pytest -m slow) through 24 kill points.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import TINY, run_tiny

KILLER = """
import os, signal, sys, threading
from contextlib import contextmanager
from bench.storage import files
from bench.storage import store
from bench.training import hypermodel as training
from bench.commands.cli import main

kind, when = sys.argv[1], int(sys.argv[2])
seen = [0]

def tick():
    seen[0] += 1
    if seen[0] == when:
        os.kill(os.getpid(), signal.SIGKILL)

def before(owner, name):
    original = getattr(owner, name)
    def wrapper(*args, **kwargs):
        tick()
        return original(*args, **kwargs)
    setattr(owner, name, wrapper)

if kind == "epoch":  # at the end of an epoch of a tuning trial or a final run
    before(training.ValidationMetrics, "on_epoch_end")
elif kind == "store":  # inside finish_cell's transaction, between two arrays
    before(store, "to_blob")
elif kind == "report":  # a report file fully written beside its target, not yet renamed
    original = files.replacing
    @contextmanager
    def replacing(path):
        with original(path) as handle:
            yield handle
            handle.flush()
            tick()
    files.replacing = replacing
elif kind == "time":  # after `when` milliseconds, wherever the run is
    threading.Timer(when / 1000, lambda: os.kill(os.getpid(), signal.SIGKILL)).start()
sys.exit(main(sys.argv[3:]))
"""


def run_killed(out: Path, kind: str, when: int) -> int:
    args = [sys.executable, "-c", KILLER, kind, str(when), "run", *TINY, "--out", str(out), "--workers", "1"]
    return subprocess.run(args, capture_output=True, timeout=600).returncode


def assert_complete_and_identical(out: Path, reference: Path) -> None:
    pd.testing.assert_frame_equal(pd.read_csv(out / "results.csv"), pd.read_csv(reference / "results.csv"))
    db = sqlite3.connect(out / "bench.sqlite")
    statuses = [row[0] for row in db.execute("SELECT status FROM cells")]
    predictions = db.execute("SELECT COUNT(*) FROM predictions").fetchone()[0]
    per_cell = db.execute("SELECT COUNT(DISTINCT cell_key), COUNT(*) FROM metrics").fetchone()
    db.close()
    assert statuses == ["done"] * 4 and predictions == 4, "every cell exactly once"
    reference_db = sqlite3.connect(reference / "bench.sqlite")
    [reference_rows] = reference_db.execute("SELECT COUNT(*) FROM metrics").fetchone()
    reference_db.close()
    assert per_cell[0] == 4 and per_cell[1] == reference_rows, "every metric of every cell exactly once"
    assert reference_rows >= 4 * (14 + 4 * 10), "14 summary metrics or more and 4 per-class metrics of 10 classes"
    assert not list(out.rglob("*.partial")), "no half-written file survives a finished run"


def kill_sequence(out: Path, points: list[tuple[str, int]]) -> int:
    """Kill a run at each point in turn on the same folder; returns how many runs died by SIGKILL."""
    return sum(run_killed(out, kind, when) == -signal.SIGKILL for kind, when in points)


@pytest.mark.backend  # a resumed fit on each backend; the 24 kill points below test the store, on one
def test_killed_at_each_kind_of_moment_then_resumed(tiny_study, tmp_path):
    out = tmp_path / "killed"
    points = [("epoch", 1), ("epoch", 2), ("store", 3), ("report", 2)]
    assert kill_sequence(out, points) == len(points), "each run died where it was meant to"
    assert run_tiny(out) == 0
    assert_complete_and_identical(out, tiny_study)


# One point per run on a fresh study, within what the tiny study does: 6 epochs (2 searches, 4 cells),
# 24 arrays written in finish_cell transactions (6 per cell), 10 report files; timers at random moments.
KILL_POINTS = (
    [("epoch", n) for n in range(1, 7)]
    + [("store", n) for n in (1, 3, 6, 7, 12, 18, 24)]
    + [("report", n) for n in (1, 2, 4, 6, 8, 10)]
    + [("time", ms) for ms in (2000, 3500, 5000, 6500, 8000)]
)


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "when"), KILL_POINTS)
def test_twenty_four_kill_points(kind, when, tiny_study, tmp_path):
    out = tmp_path / "killed"
    code = run_killed(out, kind, when)
    assert code == -signal.SIGKILL or (kind == "time" and code == 0), "a timer may come after the study finished"
    assert run_tiny(out) == 0
    assert_complete_and_identical(out, tiny_study)
