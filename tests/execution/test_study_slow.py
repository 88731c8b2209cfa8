"""Full training runs (pytest -m slow): the default study as a user runs it."""

import pandas as pd
import pytest

from bench.commands.cli import main

pytestmark = pytest.mark.slow


def test_default_quick_study_completes_and_reruns_without_training(tmp_path, capsys):
    out = tmp_path / "default"
    assert main(["run", "--out", str(out)]) == 0
    results = pd.read_csv(out / "results.csv")
    assert len(results) == 25
    assert set(results.strategy) == {"baseline", "stratify", "class-weight", "oversample", "focal"}
    assert results.macro_f1.between(0, 1).all()
    capsys.readouterr()
    assert main(["run", "--out", str(out)]) == 0
    assert "25 cells, 25 already done" in capsys.readouterr().out
