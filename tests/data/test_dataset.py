"""Every way a user's data or model can be unusable: one clear line, exit code 2, nothing written."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.commands.cli import main
from bench.config import build_config
from bench.data.splits import make_fold
from bench.execution.plan import prepare
from tests.conftest import write_csv, write_image_folder

Setup = Callable[[Path], list[str]]  # makes the bad input under tmp_path, returns the `run` arguments


def folder(counts: dict[str, int], **extra: str) -> Setup:
    def setup(tmp: Path) -> list[str]:
        write_image_folder(tmp / "images", counts)
        params = ",".join(f"{k}={v}" for k, v in {"path": tmp / "images", **extra}.items())
        return ["--dataset", f"folder[{params}]"]

    return setup


def with_file(name: str, content: bytes, counts: dict[str, int] | None = None) -> Setup:
    def setup(tmp: Path) -> list[str]:
        write_image_folder(tmp / "images", counts or {"a": 6, "b": 6})
        (tmp / "images" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp / "images" / name).write_bytes(content)
        return ["--dataset", f"folder[path={tmp / 'images'}]"]

    return setup


def mixed_sizes(tmp: Path) -> list[str]:
    write_image_folder(tmp / "images", {"a": 6}, size=16)
    write_image_folder(tmp / "images", {"b": 6}, size=24)
    return ["--dataset", f"folder[path={tmp / 'images'}]"]


def empty_folder(tmp: Path) -> list[str]:
    (tmp / "images").mkdir()
    return ["--dataset", f"folder[path={tmp / 'images'}]"]


def table(frame: pd.DataFrame, spec: str = "csv[path={path},target=label]") -> Setup:
    def setup(tmp: Path) -> list[str]:
        frame.to_csv(tmp / "t.csv", index=False)
        return ["--dataset", spec.format(path=tmp / "t.csv")]

    return setup


def csv_file(spec: str, extra: tuple[str, ...] = ()) -> Setup:
    def setup(tmp: Path) -> list[str]:
        write_csv(tmp / "t.csv")
        return ["--dataset", spec.format(path=tmp / "t.csv"), *extra]

    return setup


def arrays(**content: np.ndarray) -> Setup:
    def setup(tmp: Path) -> list[str]:
        np.savez(tmp / "a.npz", **content)
        return ["--dataset", f"npz[path={tmp / 'a.npz'}]"]

    return setup


def model_file(body: str) -> Setup:
    def setup(tmp: Path) -> list[str]:
        (tmp / "my_model.py").write_text("import keras\n\n\ndef build(hp, input_shape, num_classes):\n" + body)
        return ["--model", f"{tmp / 'my_model.py'}:build"]

    return setup


def unknown_format(tmp: Path) -> list[str]:
    (tmp / "d.txt").write_text("x")
    return ["--dataset", str(tmp / "d.txt")]


def one_array(tmp: Path) -> list[str]:
    np.save(tmp / "a.npy", X)
    return ["--dataset", f"npz[path={tmp / 'a.npy'}]"]


def misspelt_builder(tmp: Path) -> list[str]:
    model_file("    return None\n")(tmp)
    return ["--model", f"{tmp / 'my_model.py'}:biuld"]


X = np.random.default_rng(0).normal(size=(30, 4))
Y = np.repeat([0, 1, 2], 10)
WITH_NAN, WITH_INF = X.copy(), X.copy()
WITH_NAN[3, 1], WITH_INF[5, 0] = np.nan, np.inf
MISSING = pd.DataFrame({"amount": [1.0, None, 3.0, 4.0] * 5, "label": ["a", "b"] * 10})
CASES: dict[str, tuple[Setup, str]] = {
    "missing path": (lambda tmp: ["--dataset", f"folder[path={tmp / 'nowhere'}]"], "does not exist"),
    "missing shorthand path": (lambda tmp: ["--dataset", f"{tmp / 'nowhere.csv'}"], "no such file or folder"),
    "path of unknown format": (unknown_format, "cannot tell the format"),
    "empty folder": (empty_folder, "has no class sub-folders"),
    "class folder without images": (with_file("b/notes.txt", b"hi", {"a": 6}), "class folder 'b' has no images"),
    "single class": (folder({"only": 8}), "found only class 'only'"),
    "class with one sample": (folder({"many": 20, "lonely": 1}), "class 'lonely' has a single sample"),
    "images of different sizes": (mixed_sizes, "images differ in size"),
    "unreadable image": (with_file("a/broken.png", b"not a png"), "cannot read image"),
    "image_size zero": (folder({"a": 6, "b": 6}, image_size="0"), "'image_size' must be in [1, inf), got 0"),
    "image_size negative": (folder({"a": 6, "b": 6}, image_size="-8"), "'image_size' must be in [1, inf)"),
    "unknown colour": (folder({"a": 6, "b": 6}, color="sepia"), "'color' must be one of rgb, grayscale"),
    "csv without the target column": (csv_file("csv[path={path},target=lable]"), "no column 'lable'"),
    "csv without a target named": (csv_file("{path}"), "name the column of class labels"),
    "csv target of one value": (
        table(pd.DataFrame({"f": range(10), "label": ["yes"] * 10})),
        "found only class 'yes'",
    ),
    "csv with a regression target": (
        table(pd.DataFrame({"f": range(10), "label": np.linspace(0, 1, 10)})),
        "non-integer",
    ),
    "csv with missing values": (table(MISSING), "missing values in column(s) amount (5 rows)"),
    "csv with a bad missing policy": (
        csv_file("csv[path={path},target=label,missing=guess]"),
        "'missing' must be one of error, drop, impute, got 'guess'",
    ),
    "npz features with NaN": (arrays(x=WITH_NAN, y=Y), "NaN or infinite"),
    "npz features with inf": (arrays(x=WITH_INF, y=Y), "NaN or infinite"),
    "npz without y": (arrays(x=X), "has no array y"),
    "npz label outside class_names": (
        arrays(x=X, y=np.where(Y == 2, 7, Y), class_names=np.array(["a", "b", "c"])),
        "label 7 in y is not an index into class_names",
    ),
    "npz label name not in class_names": (
        arrays(x=X, y=np.array(["a", "b", "z"])[Y], class_names=np.array(["a", "b", "c"])),
        "label 'z' in y is not in class_names",
    ),
    "npy instead of npz": (one_array, "holds one array, not an archive of x and y"),
    "npz without rows": (arrays(x=np.zeros((0, 4)), y=np.zeros(0, dtype=int)), "no rows of data"),
    "csv whose every row has a gap, dropped": (
        table(
            pd.DataFrame({"amount": [None] * 6, "label": ["a", "b"] * 3}), "csv[path={path},target=label,missing=drop]"
        ),
        "no rows of data",
    ),
    "synthetic table with too few features": (
        lambda tmp: ["--dataset", "synthetic-tabular[classes=9,features=3]"],
        "9 classes need at least 4 features",
    ),
    "model with two outputs": (
        model_file(
            "    inputs = keras.Input(input_shape)\n"
            "    return keras.Model(inputs, [keras.layers.Dense(num_classes)(inputs)] * 2)\n"
        ),
        "it must output (10,)",
    ),
    "npz with pickled objects": (arrays(x=X, y=np.array([{"a": 1}] * 30, dtype=object)), "holds Python objects"),
    "model with the wrong output shape": (
        model_file(
            "    inputs = keras.Input(input_shape)\n    return keras.Model(inputs, keras.layers.Dense(3)(inputs))\n"
        ),
        "it must output (10,)",
    ),
    "model ending in softmax": (
        model_file(
            "    inputs = keras.Input(input_shape)\n"
            "    return keras.Model(inputs, keras.layers.Dense(num_classes, activation='softmax')(inputs))\n"
        ),
        "applies softmax or sigmoid",
    ),
    "model that fails to build": (model_file("    raise RuntimeError('no GPU here')\n"), "RuntimeError: no GPU here"),
    "model module that does not exist": (
        lambda tmp: ["--model", "no_such_package.models:build"],
        "cannot import model module no_such_package.models",
    ),
    "model function that does not exist": (misspelt_builder, "has no function 'biuld' (did you mean 'build'?)"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_unusable_input_is_refused_in_one_line(case, tmp_path, capsys):
    setup, message = CASES[case]
    args = setup(tmp_path)
    out = tmp_path / "study"
    assert main(["run", "--profile", "smoke", *args, "--out", str(out)]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert lines and lines[-1].startswith("error: ") and message in lines[-1], captured.err
    assert all(line.startswith("note: ") for line in lines[:-1]), "only notes may precede the error"
    assert "Traceback" not in captured.err + captured.out
    assert not out.exists(), "nothing may be written"


def test_a_class_of_two_is_tested_and_trained_on_not_refused(tmp_path):
    y = np.repeat([0, 1, 2], [40, 20, 2])
    np.savez(tmp_path / "a.npz", x=np.random.default_rng(0).normal(size=(len(y), 4)), y=y)
    values = {"profile": "smoke", "datasets": [f"npz[path={tmp_path / 'a.npz'}]"], "out": str(tmp_path / "study")}
    study = prepare(build_config({**values, "strategies": ["baseline", "stratify"], "seeds": 5}, {}))
    [data] = study.datasets.values()
    for seed in range(1, 6):
        for stratified in (False, True):
            fold = make_fold(data, seed, stratified, 0.2)
            counts = [np.bincount(data.y[part], minlength=3)[2] for part in (fold.train, fold.val, fold.test)]
            assert counts == [1, 0, 1], "one row to train on, one to test on, none left for validation"
