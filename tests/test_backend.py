"""Choosing the Keras backend: a missing one is one line, and a study never mixes two."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import keras
import pytest

from bench.backend import (
    backend_installed,
    check_resumable,
    configured_backend,
    prepare_backend_environment,
    recorded_backend,
)
from bench.cli import main
from bench.errors import UserError
from bench.store import Store
from tests.conftest import TINY

MISSING_JAX = "import sys; sys.modules['jax'] = None; from bench.cli import main; sys.exit(main(sys.argv[1:]))"


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
