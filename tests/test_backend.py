"""Choosing the Keras backend: a missing one is one line, and a study never mixes two."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import keras
import pytest

from bench.backend import check_resumable, configured_backend, recorded_backend
from bench.cli import main
from bench.errors import UserError
from bench.store import Store
from tests.conftest import TINY

MISSING_JAX = "import sys; sys.modules['jax'] = None; from bench.cli import main; sys.exit(main(sys.argv[1:]))"


def test_a_backend_that_is_not_installed_is_one_line_and_writes_nothing(tmp_path):
    out = tmp_path / "study"
    result = subprocess.run(
        [sys.executable, "-c", MISSING_JAX, "run", *TINY, "--out", str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "KERAS_BACKEND": "jax"},
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: Keras cannot load its 'jax' backend") and "imbalance-bench[jax]" in line
    assert not out.exists()


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
