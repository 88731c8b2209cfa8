"""imbalanced-learn's benchmark collection, read from a cache the test fills in the collection's own format."""

from __future__ import annotations

import urllib.error
from pathlib import Path

import numpy as np
import pytest

from bench.commands.cli import main
from bench.data.sources import load
from bench.specs import parse_spec


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user's cache, with `ecoli` (id 1) as fetch_datasets unpacks it: zenodo/x1data.npz, arrays data and label."""
    monkeypatch.setenv("IMBALANCE_BENCH_CACHE", str(tmp_path / "cache"))
    zenodo = tmp_path / "cache" / "imbalanced-learn" / "zenodo"
    zenodo.mkdir(parents=True)
    rng = np.random.default_rng(0)
    label = np.repeat([-1, 1], [90, 30])
    np.savez(zenodo / "x1data.npz", data=rng.normal(size=(120, 7)) + label[:, None], label=label)
    return tmp_path / "cache"


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    from imblearn.datasets import _zenodo

    def refuse(url: str) -> None:
        raise urllib.error.URLError("no network in this test")

    monkeypatch.setattr(_zenodo, "urlopen", refuse)


def test_a_cached_dataset_loads_with_its_two_classes(cache, offline):
    name, dataset = load(parse_spec("imblearn-zoo[name=ecoli]"))
    assert name == "imblearn-zoo[name=ecoli]"
    assert dataset.x.shape == (120, 7) and dataset.x.dtype == np.float32
    assert dataset.class_names == ("-1", "1") and np.bincount(dataset.y).tolist() == [90, 30]


def test_a_study_runs_on_it(cache, offline, tmp_path):
    out = tmp_path / "study"
    args = ["run", "--profile", "smoke", "--epochs", "1", "--strategy", "baseline", "--out", str(out)]
    assert main([*args, "--dataset", "imblearn-zoo[name=ecoli]"]) == 0
    assert (out / "results.csv").read_text().count("imblearn-zoo[name=ecoli]") == 1


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("imblearn-zoo[name=ecolli]", "error: imblearn-zoo: parameter 'name' must be one of ecoli, optical_digits, "),
        ("imblearn-zoo", "error: imblearn-zoo: give the dataset's name, e.g. imblearn-zoo[name=ecoli]: ecoli, "),
        ("imblearn-zoo[name=satimage]", "error: imblearn-zoo: cannot download imbalanced-learn's benchmark collection"),
    ],
)
def test_an_unknown_name_or_a_missing_download_is_one_line_and_writes_nothing(
    cache, offline, tmp_path, capsys, spec, message
):
    out = tmp_path / "study"
    assert main(["run", "--profile", "smoke", "--dataset", spec, "--out", str(out)]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(message)
    assert not out.exists()


def test_the_missing_download_says_which_file_to_put_where(cache, offline, capsys):
    assert main(["inspect", "imblearn-zoo[name=satimage]"]) == 2
    line = capsys.readouterr().err.strip()
    assert "benchmark-imbalanced-learn.tar.gz" in line and str(cache / "imbalanced-learn" / "zenodo") in line
