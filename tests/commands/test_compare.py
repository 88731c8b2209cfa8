"""`bench compare DIR_A DIR_B`: two studies of the same data and seeds, paired strategy by strategy."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from bench.commands.cli import main
from bench.storage.store import from_blob, to_blob
from tests.conftest import TINY, fake_study


@pytest.fixture(scope="module")
def changed_parameter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny study again, with one strategy parameter fixed: oversample[target=1.0]."""
    out = tmp_path_factory.mktemp("changed") / "study"
    flags = [("oversample[target=1.0]" if flag == "oversample" else flag) for flag in TINY]
    assert main(["run", *flags, "--out", str(out)]) == 0
    return out


def test_two_studies_that_differ_in_one_parameter(tiny_study, changed_parameter, tmp_path, capsys):
    page = tmp_path / "compare.html"
    assert main(["compare", str(tiny_study), str(changed_parameter), "--html", str(page)]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| digits-lt |")]
    assert len(rows) == 4, "2 matched strategies x macro-F1 and macro-recall"
    baseline = [r for r in rows if "| baseline |" in r]
    assert all("+0.000" in r and "identical scores" in r for r in baseline), "the unchanged strategy is the same"
    assert sum("| oversample → oversample[target=1.0] |" in r for r in rows) == 2
    assert "<table>" in page.read_text() and "src=" not in page.read_text()


def test_a_missing_folder_is_one_line(tiny_study, tmp_path, capsys):
    assert main(["compare", str(tiny_study), str(tmp_path / "nowhere")]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: no study in") and "nowhere" in line


def test_studies_of_other_data_are_refused(tiny_study, tmp_path, capsys):
    assert main(["compare", str(tiny_study), str(fake_study(tmp_path / "toy"))]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert "no dataset and seed in common" in line


def test_studies_whose_test_rows_differ_are_refused(tiny_study, tmp_path, capsys):
    import shutil

    other = tmp_path / "other"
    shutil.copytree(tiny_study, other)
    db = sqlite3.connect(other / "bench.sqlite")
    key, blob = db.execute("SELECT cell_key, sample_id FROM predictions LIMIT 1").fetchone()
    db.execute("UPDATE predictions SET sample_id=? WHERE cell_key=?", (to_blob(np.roll(from_blob(blob), 1)), key))
    db.commit()
    db.close()
    assert main(["compare", str(tiny_study), str(other)]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert "test on different rows (digits-lt, seed" in line
