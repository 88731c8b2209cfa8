"""Choosing the Keras backend: a missing one is one line, and a study never mixes two."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import keras
import pytest

from bench.backend import (
    VERBOSE,
    backend_installed,
    check_resumable,
    configured_backend,
    prepare_backend_environment,
    recorded_backend,
    start_up_lines_hidden,
)
from bench.commands.cli import main
from bench.errors import UserError
from bench.storage.store import Store
from tests.conftest import TINY

pytestmark = pytest.mark.backend

MISSING_JAX = "import sys; sys.modules['jax'] = None; from bench.commands.cli import main; sys.exit(main(sys.argv[1:]))"


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_backend_that_is_not_installed_is_one_line_and_writes_nothing(tmp_path, workers):
    out = tmp_path / "study"
    result = subprocess.run(
        [sys.executable, "-c", MISSING_JAX, "run", *TINY, "--out", str(out), "--workers", workers],
        capture_output=True,
        text=True,
        env={**os.environ, "KERAS_BACKEND": "jax"},
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: Keras cannot load its 'jax' backend") and "imbalance-bench[jax]" in line
    assert not out.exists()


def test_an_installed_backend_is_found_without_importing_it(monkeypatch):
    assert backend_installed(keras.backend.backend())
    assert not backend_installed("numpy"), "installed, but not a Keras backend"
    monkeypatch.setitem(sys.modules, "jax", None)  # as if jax were not installed
    assert not backend_installed("jax")


def test_a_store_without_a_recorded_backend_resumes():
    check_resumable(None, keras.backend.backend())


def test_older_stores_have_their_backend_in_the_environment():
    environment = json.dumps({"backend": "jax", "keras": "3.15.1"})
    assert recorded_backend(None, environment) == "jax"
    assert recorded_backend("torch", environment) == "torch"
    assert recorded_backend(None, None) is None and recorded_backend(None, "not json") is None
    with pytest.raises(UserError, match="run with the jax backend"):
        check_resumable(recorded_backend(None, environment), "tensorflow")


def test_the_configured_backend_comes_from_the_environment_or_keras_json(tmp_path, monkeypatch):
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert configured_backend() == "tensorflow"
    (tmp_path / "keras.json").write_text('{"backend": "torch"}')
    assert configured_backend() == "torch"
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    assert configured_backend() == "jax"


def test_a_study_is_not_resumed_on_another_backend(tiny_study, tmp_path, capsys):
    copy = tmp_path / "study"
    shutil.copytree(tiny_study, copy)
    store = Store.open_existing(copy)
    other = "torch" if keras.backend.backend() != "torch" else "jax"
    try:
        assert store.meta("backend") == keras.backend.backend()
        store.set_meta(backend=other)
    finally:
        store.close()
    assert main(["run", *TINY, "--out", str(copy)]) == 2
    assert f"run with the {other} backend" in capsys.readouterr().err
    with pytest.raises(UserError, match=f"KERAS_BACKEND={other}"):
        check_resumable(other, keras.backend.backend())


CACHE_SETTINGS = (
    "JAX_COMPILATION_CACHE_DIR",
    "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS",
    "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES",
)


def test_jax_compiles_into_the_users_cache_folder(tmp_path, monkeypatch):
    for name in CACHE_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IMBALANCE_BENCH_CACHE", str(tmp_path))
    prepare_backend_environment()
    assert os.environ["JAX_COMPILATION_CACHE_DIR"] == str(tmp_path / "jax")
    assert os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] == "0"


def test_a_users_own_compilation_cache_and_its_settings_are_kept(tmp_path, monkeypatch):
    for name in CACHE_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", str(tmp_path))
    prepare_backend_environment()
    assert os.environ["JAX_COMPILATION_CACHE_DIR"] == str(tmp_path)
    assert "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS" not in os.environ


SAME_MODEL_TWO_SEEDS = """
import os
import numpy as np
from bench.backend import prepare_backend_environment
prepare_backend_environment()
import keras
x = np.random.default_rng(0).normal(size=(64, 8)).astype("float32")
y = np.eye(3, dtype="float32")[np.arange(64) % 3]
for seed in (1, 2):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(3)])
    model.compile("adam", keras.losses.CategoricalCrossentropy(from_logits=True))
    model.fit(x, y, epochs=2, verbose=0)
    cache = os.environ["JAX_COMPILATION_CACHE_DIR"]
    entries = len(os.listdir(cache)) if os.path.isdir(cache) else 0
    print(entries, *np.concatenate([w.ravel() for w in model.get_weights()]).tolist())
"""


def train_two_seeds(env: dict[str, str]) -> list[tuple[int, list[str]]]:
    result = subprocess.run(
        [sys.executable, "-c", SAME_MODEL_TWO_SEEDS],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k not in CACHE_SETTINGS} | {"KERAS_BACKEND": "jax", **env},
        cwd=Path(__file__).parent.parent,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return [(int(line.split()[0]), line.split()[1:]) for line in result.stdout.splitlines()]


@pytest.mark.skipif(keras.backend.backend() != "jax", reason="JAX's own compilation cache; runs in the jax tox env")
def test_a_second_seed_of_the_same_model_compiles_nothing_new_and_trains_the_same(tmp_path):
    (first_entries, first), (second_entries, second) = train_two_seeds({"IMBALANCE_BENCH_CACHE": str(tmp_path)})
    assert first_entries > 0 and second_entries == first_entries
    disabled = {"IMBALANCE_BENCH_CACHE": str(tmp_path / "off"), "JAX_ENABLE_COMPILATION_CACHE": "false"}
    uncached = train_two_seeds(disabled)
    assert [first, second] == [weights for _, weights in uncached]
    assert first != second


NATIVE = b"I0000 00:00:1795884847.387059   32287 port.cc:153] oneDNN custom operations are on.\n"
ABSL = b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"


def test_start_up_lines_written_past_python_are_hidden_and_the_rest_passed_on(capfd, monkeypatch):
    monkeypatch.delenv(VERBOSE, raising=False)
    with start_up_lines_hidden():
        os.write(2, ABSL + NATIVE)  # as native code writes: straight to the descriptor
        os.write(2, b"UserWarning: something a user should read\n")
    assert capfd.readouterr().err == "UserWarning: something a user should read\n"
    monkeypatch.setenv(VERBOSE, "1")
    with start_up_lines_hidden():
        os.write(2, NATIVE)
    assert capfd.readouterr().err == NATIVE.decode()


def test_a_study_run_shows_no_backend_start_up_lines_unless_verbose(tmp_path):
    """TensorFlow 2.21 prints absl, oneDNN and cudart lines at import, TF_CPP_MIN_LOG_LEVEL=3 or not."""
    native = re.compile(r"absl::InitializeLog|^[IWE]\d{4} \d\d:\d\d:\d\d", re.M)

    def stderr_of(*extra: str) -> str:
        command = [sys.executable, "-m", "bench", "run", *TINY[:4], "--seeds", "1", "--epochs", "1", *extra]
        result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        return result.stderr

    assert not native.search(stderr_of("--out", "study"))
    loud = stderr_of("--out", "study", "--verbose")  # resumed: nothing trains, Keras still loads
    if keras.backend.backend() == "tensorflow":
        assert native.search(loud), "the lines this test hides did not appear at all: it would prove nothing"
