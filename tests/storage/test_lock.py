"""One `bench run` per study folder: a live holder refuses a second run, a dead one does not."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from bench.commands.cli import main
from bench.storage.lock import LOCK_NAME, study_lock

HOLD = """
import sys, time
from pathlib import Path
from bench.storage.lock import study_lock
with study_lock(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(60)
"""
SMOKE = ["run", "--profile", "smoke", "--strategy", "baseline", "--epochs", "1"]


def test_a_second_run_on_a_folder_in_use_is_refused(tmp_path, capsys):
    out = tmp_path / "study"
    with study_lock(out):
        assert main([*SMOKE, "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert f"is in use by another 'bench run' (process {os.getpid()})" in error
    assert not (out / "bench.sqlite").exists(), "the refused run wrote nothing"


def test_a_lock_left_by_a_killed_run_is_stale(tmp_path):
    out = tmp_path / "study"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    assert (out / LOCK_NAME).read_text() == str(holder.pid), "the dead run's lock file is still there"
    assert main([*SMOKE, "--out", str(out)]) == 0
