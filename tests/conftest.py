"""Shared fixtures: one tiny study, run once per session through the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.cli import main

# Two strategies that take different code paths (plain fold vs resampled batches),
# two seeds, one trial of one epoch: every part of the pipeline in a few seconds per cell.
TINY = ["--profile", "smoke", "--strategy", "baseline", "--strategy", "oversample", "--seeds", "2", "--epochs", "1"]


def run_tiny(out: Path, *extra: str) -> int:
    return main(["run", *TINY, "--out", str(out), *extra])


@pytest.fixture(scope="session")
def tiny_study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tiny") / "study"
    assert run_tiny(out) == 0
    return out
