"""Worker processes: the same study, the same numbers, only the driver writes the store."""

from __future__ import annotations

import multiprocessing
import os
import sys

import pandas as pd
import pytest

from bench.config import build_config
from bench.errors import UserError
from bench.execution import local
from bench.execution.local import gpu_device_present, start_workers_early
from bench.execution.plan import prepare
from bench.storage.store import Store, study_finished
from tests.conftest import run_tiny

pytestmark = pytest.mark.backend


def test_two_workers_give_the_serial_numbers(tiny_study, tmp_path, capsys):
    out = tmp_path / "parallel"
    assert run_tiny(out, "--workers", "2") == 0
    assert "4 cells done, 0 failed" in capsys.readouterr().out
    pd.testing.assert_frame_equal(pd.read_csv(tiny_study / "results.csv"), pd.read_csv(out / "results.csv"))
    with Store.open_existing(out) as store, Store.open_existing(tiny_study) as serial:
        assert (store.config["workers"], serial.config["workers"]) == (2, 1), "the store says how many ran"
    assert run_tiny(out) == 0, "a study run with workers resumes serially: workers are not part of the fingerprint"


@pytest.mark.parametrize("workers", [0, -1, True, 1.5, "many", "2"])
def test_workers_are_a_whole_number_of_at_least_one_or_auto(workers):
    with pytest.raises(UserError, match="'workers' must be a whole number of at least 1 or \"auto\""):
        build_config({"workers": workers}, {})


def test_auto_workers_are_one_per_gpu_else_one_per_usable_core(monkeypatch):
    monkeypatch.setattr(local, "usable_cores", lambda: 3)
    assert build_config({}, {}).run.workers == "auto", "the default"
    assert local.worker_count("auto", gpus=[]) == 3
    assert local.worker_count("auto", gpus=["0", "1"]) == 2
    assert local.worker_count(5, gpus=["0"]) == 5, "a number asked for is kept"
    assert local.worker_count("auto", gpus=[], live=True) == 1, "--live: one stream of per-epoch reports"
    assert local.worker_count(2, gpus=[], live=True) == 2


def test_auto_workers_start_early_one_per_usable_core(tmp_path, monkeypatch):
    monkeypatch.setattr(local, "gpu_device_present", lambda: False)
    monkeypatch.setattr(local, "usable_cores", lambda: 2)
    executor = start_workers_early(tiny_plan(tmp_path), overwrite=False)
    try:
        assert executor is not None and executor.capacity == 2
    finally:
        executor.close()


def test_a_dask_local_cluster_gives_the_serial_numbers(tiny_study, tmp_path):
    out = tmp_path / "dask"
    assert run_tiny(out, "--executor", "dask", "--workers", "2") == 0
    pd.testing.assert_frame_equal(pd.read_csv(tiny_study / "results.csv"), pd.read_csv(out / "results.csv"))


def test_an_unreachable_scheduler_is_one_line_and_writes_nothing(tmp_path, capsys, monkeypatch):
    from bench.execution import dask_cluster as dask_executor

    monkeypatch.setattr(dask_executor, "CONNECT_SECONDS", 2)
    out = tmp_path / "nowhere"
    assert run_tiny(out, "--scheduler", "tcp://127.0.0.1:9") == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: cannot reach the dask scheduler at tcp://127.0.0.1:9")
    assert not out.exists()


def test_daemonic_dask_workers_are_one_line_with_the_fix_and_write_nothing(tmp_path, capsys):
    """dask starts its workers daemonic unless told otherwise, and a daemon may not start the child a task runs in."""
    from distributed import LocalCluster

    out = tmp_path / "daemonic"
    with LocalCluster(n_workers=1, threads_per_worker=1, host="127.0.0.1", dashboard_address=None) as cluster:
        assert run_tiny(out, "--scheduler", cluster.scheduler_address) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: 1 of 1 dask workers at tcp://127.0.0.1:") and "daemonic" in line
    assert line.endswith(f"DASK_DISTRIBUTED__WORKER__DAEMON=False dask worker {cluster.scheduler_address}")
    assert not out.exists()


def test_a_dashboard_url_is_not_a_scheduler(tmp_path, capsys):
    assert run_tiny(tmp_path / "x", "--scheduler", "http://127.0.0.1:8787") == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: cannot reach the dask scheduler at http://127.0.0.1:8787")


def test_a_scheduler_needs_the_dask_executor():
    with pytest.raises(UserError, match="a scheduler address needs executor 'dask'"):
        build_config({"scheduler": "tcp://127.0.0.1:8786", "executor": "local"}, {})


KILLER_MODEL = """
import multiprocessing, os
from pathlib import Path

import keras


def build(hp, input_shape, num_classes):
    marker = Path(__file__).with_name("killed-once")
    in_worker = multiprocessing.parent_process() is not None
    final_run = bool(hp.space) and all(type(p).__name__ == "Fixed" for p in hp.space)  # tuned values, no search
    if in_worker and final_run and not marker.exists():  # once, with cells still queued behind it
        marker.write_text("x")
        os._exit(9)  # as if killed for memory
    inputs = keras.Input(input_shape)
    return keras.Model(inputs, keras.layers.Dense(num_classes)(keras.layers.Flatten()(inputs)))
"""


def test_a_dead_worker_fails_only_its_tasks_and_the_study_goes_on(tmp_path, capsys):
    (tmp_path / "killer.py").write_text(KILLER_MODEL)
    out = tmp_path / "study"
    args = ("--workers", "2", "--model", f"{tmp_path / 'killer.py'}:build")
    assert run_tiny(out, *args) == 1
    lines = capsys.readouterr().out.splitlines()
    outcomes = [line for line in lines if line.startswith("[")]
    assert len(outcomes) == 4 and any("BrokenProcessPool" in line for line in lines)
    assert any("macro-F1" in line for line in outcomes), "cells queued after the death ran on a new pool"
    assert run_tiny(out, *args) == 0, "rerun: the failed cells are retried"
    assert len(pd.read_csv(out / "results.csv")) == 4


def test_a_gpu_device_node_means_a_gpu_may_be_present(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    (tmp_path / "nvidiactl").touch()  # the driver's control node alone is no GPU
    assert not gpu_device_present(tmp_path)
    (tmp_path / "nvidia0").touch()
    assert gpu_device_present(tmp_path)
    (tmp_path / "nvidia0").unlink()
    (tmp_path / "kfd").touch()  # ROCm
    assert gpu_device_present(tmp_path)
    monkeypatch.setattr(sys, "platform", "darwin")
    assert gpu_device_present(tmp_path / "empty"), "outside Linux only the backend can tell"


def tiny_plan(tmp_path, **settings):
    return prepare(build_config({"profile": "smoke", "strategies": ["baseline"], "out": str(tmp_path), **settings}, {}))


def worker_settings(study, *args):
    return os.environ["KERAS_BACKEND"], os.environ["OMP_NUM_THREADS"], os.environ.get("CUDA_VISIBLE_DEVICES")


def test_early_workers_start_at_once_with_the_cpu_share(tmp_path, monkeypatch):
    import keras

    monkeypatch.setattr(local, "gpu_device_present", lambda: False)
    before = len(multiprocessing.active_children())
    executor = start_workers_early(tiny_plan(tmp_path, workers=2), overwrite=False)
    try:
        assert len(multiprocessing.active_children()) == before + 2, "both workers started before any task"
        futures = [executor.submit(worker_settings) for _ in range(2)]
        threads = str(max(1, local.usable_cores() // 2))
        expected = (keras.backend.backend(), threads, os.environ.get("CUDA_VISIBLE_DEVICES"))  # no GPU pinned
        assert [f.result() for f in futures] == [expected, expected]
    finally:
        executor.close()


@pytest.mark.parametrize("settings", [{}, {"executor": "dask", "workers": 2}])
def test_no_early_workers_for_serial_or_dask_studies(tmp_path, monkeypatch, settings):
    monkeypatch.setattr(local, "gpu_device_present", lambda: False)
    assert start_workers_early(tiny_plan(tmp_path, **settings), overwrite=False) is None


def test_no_early_workers_where_a_gpu_may_be(tmp_path, monkeypatch):
    monkeypatch.setattr(local, "gpu_device_present", lambda: True)
    assert start_workers_early(tiny_plan(tmp_path, workers=2), overwrite=False) is None


def test_no_early_workers_for_a_finished_study_unless_overwritten(tiny_study, monkeypatch):
    monkeypatch.setattr(local, "gpu_device_present", lambda: False)
    store = Store.open_existing(tiny_study)
    config = store.config
    store.close()
    study = prepare(build_config({**config, "workers": 2}, {}))
    assert study_finished(tiny_study, study.config.fingerprint())
    assert start_workers_early(study, overwrite=False) is None, "a rerun that trains nothing waits for no workers"
    executor = start_workers_early(study, overwrite=True)
    assert executor is not None
    executor.close()


def test_only_the_serial_executor_runs_tasks_in_the_driver():
    """The runner passes a per-trial progress callback only to tasks that run in its own process."""
    from bench.execution.dask_cluster import DaskExecutor

    assert local.SerialExecutor.in_driver
    assert not local.ProcessExecutor.in_driver and not DaskExecutor.in_driver
