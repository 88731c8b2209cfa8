"""`bench run` against the loop a practitioner writes by hand (benchmarks/handwritten_loop.py), at equal budget.

Both: the five core strategies on digits-lt, 3 random-search trials of up to
10 epochs, tuned per seed, 5 seeds, each winner retrained and scored on the
seed's test split. Each is a fresh process, so the wall time includes imports
(and `bench run`'s workers, as its default `--workers auto` chooses, and its
report). `extra_info` holds both walls and their ratio; nothing is asserted
about time. The harness does more per fit than the hand-written loop
(macro-F1 over every class each epoch, the kept-epoch rule, the store, the
report); the ratio says what that costs or saves.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HANDWRITTEN = Path(__file__).with_name("handwritten_loop.py")
BUDGET = ["--max-trials", "3", "--epochs", "10", "--seeds", "5"]


def wall(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, cwd=cwd, timeout=3600)
    return time.perf_counter() - started


def test_bench_run_against_the_handwritten_loop(benchmark, tmp_path):
    handwritten = wall([sys.executable, str(HANDWRITTEN), str(tmp_path / "tuner")], tmp_path)
    command = [sys.executable, "-m", "bench", "run", *BUDGET, "--out", str(tmp_path / "study")]
    harness = benchmark.pedantic(wall, args=(command, tmp_path), rounds=1, iterations=1)
    assert (tmp_path / "study" / "results.csv").is_file()
    benchmark.extra_info.update({"handwritten_s": round(handwritten, 1), "bench_run_s": round(harness, 1),
                                 "ratio": round(harness / handwritten, 3)})  # fmt: skip
