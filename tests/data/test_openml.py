"""OpenML through fetch_openml, answered by the API responses scikit-learn ships for its own tests (iris, id 61)."""

from __future__ import annotations

import urllib.error
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest

from bench.commands.cli import main
from bench.data.sources import load
from bench.specs import parse_spec


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("IMBALANCE_BENCH_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "openml"


@pytest.fixture
def iris_online(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """openml.org as scikit-learn's tests fake it: its recorded answers about iris, gzipped as the server sends them."""
    from sklearn.datasets.tests.test_openml import _monkey_patch_webbased_functions

    _monkey_patch_webbased_functions(monkeypatch, 61, True)


@pytest.fixture
def unknown_everywhere(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """openml.org answering 412 (its 'no such dataset') to every request."""
    from sklearn.datasets import _openml

    def refuse(request: object, *args: object, **kwargs: object) -> None:
        raise urllib.error.HTTPError("https://www.openml.org", 412, "no such dataset", {}, BytesIO())  # type: ignore[arg-type]

    monkeypatch.setattr(_openml, "urlopen", refuse)


@pytest.fixture
def offline(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sklearn.datasets import _openml

    def refuse(request: object, *args: object, **kwargs: object) -> None:
        raise urllib.error.URLError("no network in this test")

    monkeypatch.setattr(_openml, "urlopen", refuse)
    monkeypatch.setattr(_openml.time, "sleep", lambda seconds: None)  # fetch_openml waits between its retries


@pytest.mark.parametrize("spec", ["openml[id=61]", "openml[name=iris]"])
def test_a_dataset_by_id_or_name_loads_with_its_default_target_and_is_cached(iris_online, cache, spec):
    name, dataset = load(parse_spec(spec))
    assert name == spec
    assert dataset.x.shape == (150, 4) and dataset.standardize == (0, 1, 2, 3)
    assert dataset.class_names == ("Iris-setosa", "Iris-versicolor", "Iris-virginica")
    assert np.bincount(dataset.y).tolist() == [50, 50, 50]
    assert list(cache.rglob("*.gz")), "fetch_openml kept its downloads in the project's cache"


def test_a_named_target_column_and_a_long_tail(iris_online):
    _, dataset = load(parse_spec("openml[id=61,target=class,ratio=10]"))
    assert dataset.long_tail is not None and dataset.long_tail.ratio == 10.0


def test_a_study_runs_on_it(iris_online, tmp_path):
    out = tmp_path / "study"
    args = ["run", "--profile", "smoke", "--epochs", "1", "--strategy", "baseline", "--out", str(out)]
    assert main([*args, "--dataset", "openml[id=61]"]) == 0
    assert (out / "results.csv").read_text().count("openml[id=61]") == 1


@pytest.mark.parametrize(
    ("spec", "fixture", "message"),
    [
        ("openml", "offline", "error: openml: give either the dataset's id or its name"),
        ("openml[id=61,name=iris]", "offline", "error: openml: give either the dataset's id or its name"),
        ("openml[id=0]", "offline", "error: openml: parameter 'id' must be in [1, inf), got 0"),
        ("openml[name=nosuchdata]", "unknown_everywhere", "error: openml: dataset name=nosuchdata: No active dataset"),
        ("openml[id=99999999]", "unknown_everywhere", "error: openml: dataset id=99999999: "),
        ("openml[id=61]", "offline", "error: openml: cannot download dataset id=61"),
        ("openml[id=61,target=petal]", "iris_online", "error: openml: OpenML dataset id=61 has no column 'petal'"),
    ],
)
def test_bad_input_and_a_missing_download_are_one_line_and_write_nothing(
    request, tmp_path, capsys, spec, fixture, message
):
    request.getfixturevalue(fixture)
    out = tmp_path / "study"
    assert main(["run", "--profile", "smoke", "--dataset", spec, "--out", str(out)]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(message)
    assert not out.exists()
