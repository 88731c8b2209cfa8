"""The command line: entry point, listing, status, report and export on a finished study."""

from __future__ import annotations

import gc
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import bench.commands.cli
from bench.commands.cli import main
from strategies import STRATEGIES
from tests.conftest import write_image_folder


def test_the_real_entry_point_exits_2_without_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bench", "run", "--strategy", "stratfy"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: unknown strategy 'stratfy' (did you mean 'stratify'?); valid: " + ", ".join(e.name for e in STRATEGIES)
    ]


def test_the_entry_point_exits_with_mains_status_and_everything_frozen(monkeypatch):
    """The interpreter's last collection would walk the whole backend; frozen objects are skipped."""
    monkeypatch.setattr(bench.commands.cli, "main", lambda: 3)
    gc.unfreeze()  # whatever an earlier test left frozen
    assert gc.get_freeze_count() == 0
    try:
        with pytest.raises(SystemExit) as exited:
            bench.commands.cli.entry_point()
        assert exited.value.code == 3
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_a_different_config_on_an_existing_study_is_refused(tiny_study, capsys):
    assert main(["run", "--profile", "smoke", "--out", str(tiny_study)]) == 2
    assert "holds a different study" in capsys.readouterr().err


def test_list_names_every_strategy_with_parameters(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("baseline", "stratify", "class-weight", "oversample", "focal", "digits-lt", "hyperband"):
        assert name in out
    assert "gamma={1.0, 2.0, 3.0} (tuned) in [0, 10]" in out
    assert "target={0.5, 1.0} (tuned) in (0, 1]" in out and "k_neighbors=5 in [1, inf)" in out
    assert "Your own strategy: path/to/file.py:ClassName[key=value,...]" in out


def test_status_counts_cells(tiny_study, capsys):
    assert main(["status", str(tiny_study)]) == 0
    assert "4 cells: 4 done, 0 running, 0 pending, 0 failed, 0 skipped" in capsys.readouterr().out


def test_report_renders_from_the_store_without_a_keras_backend(tiny_study):
    (tiny_study / "report.md").unlink()
    code = (
        "import sys; from bench.commands.cli import main; rc = main(['report', sys.argv[1]]);"
        "heavy = [m for m in ('tensorflow', 'keras', 'keras_tuner', 'jax', 'torch') if m in sys.modules];"
        "print(heavy); sys.exit(rc or bool(heavy))"
    )
    result = subprocess.run([sys.executable, "-c", code, str(tiny_study)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tiny_study / "report.md").is_file()


def test_a_run_whose_workers_train_never_loads_keras_in_the_driver(tmp_path):
    """The driver's import would share the cores with the workers' own before the first task; they check the
    model and report the versions instead."""
    code = (
        "import sys; import bench.execution.local as local; local.gpu_device_present = lambda: False;"
        "from bench.commands.cli import main;"
        "rc = main(['run', '--profile', 'smoke', '--strategy', 'baseline', '--epochs', '1', '--workers', '2',"
        " '--out', sys.argv[1]]);"
        "heavy = [m for m in ('tensorflow', 'keras', 'keras_tuner', 'jax', 'torch') if m in sys.modules];"
        "print(heavy); sys.exit(rc or bool(heavy))"
    )
    out = tmp_path / "study"
    result = subprocess.run([sys.executable, "-c", code, str(out)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    with sqlite3.connect(out / "bench.sqlite") as db:
        (environment,) = db.execute("SELECT value FROM meta WHERE key = 'environment'").fetchone()
    assert {"keras", "keras-tuner", "backend"} <= set(json.loads(environment)), "the workers' versions"


def test_a_backend_that_cannot_load_in_the_workers_is_refused_in_one_line(tmp_path):
    """The driver of early workers does not import the backend itself: the workers' failure must say why."""
    fake = tmp_path / "fake" / "torch"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text('raise ImportError("libtorch_cpu.so: cannot open shared object file")\n')
    code = (
        "import sys; import bench.execution.local as local; local.gpu_device_present = lambda: False;"
        "from bench.commands.cli import main;"
        "sys.exit(main(['run', '--profile', 'smoke', '--workers', '2', '--out', sys.argv[1]]))"
    )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "KERAS_BACKEND": "torch", "PYTHONPATH": os.pathsep.join([str(fake.parent), str(root)])}
    out = tmp_path / "study"
    command = [sys.executable, "-c", code, str(out)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: Keras cannot load its 'torch' backend")
    assert not out.exists(), "nothing may be written"


def test_export_results_writes_one_row_per_cell(tiny_study, tmp_path, capsys):
    assert main(["export", str(tiny_study), "--output", str(tmp_path / "r.csv")]) == 0
    assert "4 rows written" in capsys.readouterr().out


def test_skipped_files_are_noted_on_stderr(tmp_path, capsys):
    write_image_folder(tmp_path / "images", {"a": 3, "b": 3})
    (tmp_path / "images" / "a" / "readme.txt").write_text("x")
    assert main(["inspect", str(tmp_path / "images"), "--output", str(tmp_path / "h.png")]) == 0
    assert capsys.readouterr().err.splitlines() == [
        f"note: folder: skipped 0 hidden and 1 non-image file(s) in {tmp_path / 'images'}"
    ]


def test_runs_from_a_folder_holding_its_own_strategies_and_reports(tmp_path, monkeypatch):
    """`python -m bench` puts the working directory first on sys.path; the user's folders must not shadow ours."""
    for package in ("strategies", "reports"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("raise ImportError('the user folder was imported')\n")
    (tmp_path / "my_models.py").write_text("def build(hp, input_shape, num_classes):\n    return None\n")
    result = subprocess.run(
        [sys.executable, "-m", "bench", "list"], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert "ldam-drw" in result.stdout
    from bench.user_code import import_from_working_directory

    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "my_models", raising=False)
    assert callable(import_from_working_directory("my_models").build), "user modules still come from there"
    sys.modules.pop("my_models")
