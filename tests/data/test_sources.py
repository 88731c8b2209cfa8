"""The dataset registry: path shorthand, the CSV target flag, imbalance on any source."""

from __future__ import annotations

import numpy as np

from bench.data.sources import DATASETS, expand, load
from bench.data.splits import holdout
from bench.specs import parse_spec
from tests.conftest import write_csv, write_image_folder


def test_paths_stand_for_their_source(tmp_path):
    write_image_folder(tmp_path / "bees", {"a": 3, "b": 3})
    np.savez(tmp_path / "a.npz", x=np.zeros((4, 2)), y=np.array([0, 1, 0, 1]))
    assert expand(parse_spec(str(tmp_path / "bees"))).name == "folder"
    assert expand(parse_spec(str(tmp_path / "a.npz"))).kwargs == {"path": str(tmp_path / "a.npz")}
    csv = write_csv(tmp_path / "t.csv")
    assert expand(parse_spec(str(csv)), target="label").kwargs == {"path": str(csv), "target": "label"}
    assert expand(parse_spec(f"{csv}[target=amount]"), target="label").kwargs["target"] == "amount"


def test_registered_names_win_over_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "digits-lt").mkdir()
    assert expand(parse_spec("digits-lt")).name == "digits-lt"


def test_canonical_name_records_the_path_and_target(tmp_path):
    csv = write_csv(tmp_path / "t.csv")
    name, dataset = load(parse_spec(str(csv)), target="label")
    assert name == f"csv[path={csv},target=label]" and dataset.num_classes == 3


def test_imbalance_parameters_thin_any_source_reproducibly(tmp_path):
    write_image_folder(tmp_path, {"a": 30, "b": 30, "c": 30})
    _, dataset = load(parse_spec(f"folder[path={tmp_path},ratio=10]"))
    _, pool = holdout(dataset, seed=1)
    counts = np.bincount(dataset.y[pool])
    assert counts.tolist() == [24, 7, 2], "exp profile from 24 down to 24/10, held-out test untouched"
    np.testing.assert_array_equal(pool, holdout(dataset, seed=1)[1])


def test_every_source_is_listed_with_a_description():
    names = {entry.name for entry in DATASETS}
    assert {"digits-lt", "digits-step", "folder", "csv", "npz", "synthetic-images", "synthetic-tabular"} <= names
    assert all(entry.description for entry in DATASETS)
