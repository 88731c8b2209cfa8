"""Studies on a user's own data, end to end: an image folder, a CSV, an npz, a user model."""

from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd

from bench.commands.cli import main
from tests.conftest import STUDIES, write_csv, write_image_folder

SMOKE = ["--profile", "smoke", "--epochs", "1", "--seeds", "1"]


def test_one_study_over_a_folder_a_csv_and_an_npz(tmp_path):
    images = write_image_folder(tmp_path / "insects", {"bees": 86, "wasps": 56, "other-insects": 42, "other": 16})
    csv = write_csv(tmp_path / "transactions.csv", rows=300)
    rng = np.random.default_rng(0)
    y = rng.choice(3, size=240, p=[0.7, 0.2, 0.1])
    np.savez(tmp_path / "pipeline.npz", x=rng.normal(size=(240, 5)) + y[:, None], y=y)
    out = tmp_path / "study"
    args = ["run", *SMOKE, "--strategy", "baseline", "--strategy", "class-weight", "--out", str(out)]
    args += ["--dataset", str(images), "--dataset", f"{csv}[target=label]", "--dataset", str(tmp_path / "pipeline.npz")]
    assert main(args) == 0
    results = pd.read_csv(out / "results.csv")
    assert len(results) == 6 and results.macro_f1.between(0, 1).all()
    db = sqlite3.connect(out / "bench.sqlite")
    models = dict(db.execute("SELECT dataset, model FROM datasets").fetchall())
    db.close()
    assert sorted(models.values()) == ["cnn", "mlp", "mlp"]
    report = (out / "report.md").read_text()
    assert "other-insects" in report and "## csv[path=" in report


def test_the_worked_user_model_study_runs_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "user-model"
    assert main(["run", "--config", str(STUDIES / "user-model.toml"), *SMOKE, "--out", str(out)]) == 0
    results = pd.read_csv(out / "results.csv")
    assert set(results.strategy) == {"baseline", "class-weight", "logit-adjusted"}
    db = sqlite3.connect(out / "bench.sqlite")
    [(model,)] = db.execute("SELECT model FROM datasets").fetchall()
    hyperparameters = db.execute("SELECT hyperparameters FROM cells").fetchone()[0]
    db.close()
    assert model == f"{STUDIES / 'my_model.py'}:build" and "residual_blocks" in hyperparameters
