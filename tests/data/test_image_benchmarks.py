"""CIFAR-10/100-LT, MNIST-LT and Fashion-MNIST-LT, read from files the tests write in each source's published format.

The checksums are the fixtures' own (patched into the table); everything
else is the path users run: the file is found in the cache (or "downloaded"
from a fake server), checked against its SHA-256 and parsed.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import pickle
import struct
import tarfile
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from bench.commands.cli import main
from bench.data import image_benchmarks
from bench.data.sources import load
from bench.data.splits import holdout
from bench.specs import parse_spec

RNG = np.random.default_rng(0)


def _labels(classes: int, per_class: int) -> list[int]:
    return RNG.permutation(np.repeat(np.arange(classes), per_class)).tolist()


def _pickle(path: Path, content: dict) -> None:
    path.write_bytes(pickle.dumps(content))


def _cifar_folder(root: Path, source: str) -> Path:
    """The unpacked archive's folder: pickled batches of (N, 3072) uint8 rows, as the CIFAR authors publish them."""
    if source == "cifar10-lt":
        folder = root / "cifar-10-batches-py"
        folder.mkdir(parents=True)
        for i in range(1, 6):
            labels = _labels(10, 4)
            _pickle(
                folder / f"data_batch_{i}", {b"data": RNG.integers(0, 256, (40, 3072), np.uint8), b"labels": labels}
            )
        _pickle(folder / "test_batch", {b"data": RNG.integers(0, 256, (30, 3072), np.uint8), b"labels": _labels(10, 3)})
        _pickle(folder / "batches.meta", {b"label_names": [f"class{i}".encode() for i in range(10)]})
    else:
        folder = root / "cifar-100-python"
        folder.mkdir(parents=True)
        for split, per_class in (("train", 5), ("test", 1)):
            labels = _labels(100, per_class)
            _pickle(
                folder / split, {b"data": RNG.integers(0, 256, (len(labels), 3072), np.uint8), b"fine_labels": labels}
            )
        _pickle(folder / "meta", {b"fine_label_names": [f"fine{i}".encode() for i in range(100)]})
    return folder


def _idx_gz(path: Path, payload: np.ndarray) -> None:
    """LeCun's IDX format, gzipped: magic (0x0801 labels, 0x0803 images), the dimensions, then the bytes."""
    header = struct.pack(">I", 0x0800 + payload.ndim) + b"".join(struct.pack(">I", d) for d in payload.shape)
    path.write_bytes(gzip.compress(header + payload.astype(np.uint8).tobytes()))


def write_source(home: Path, scratch: Path, source: str) -> list[str]:
    """The source's files where the cache keeps them under `home`; their SHA-256, in the table's order."""
    home.mkdir(parents=True, exist_ok=True)
    downloads = image_benchmarks.SOURCES[source].downloads
    if source.startswith("cifar"):
        folder = _cifar_folder(scratch / source, source)
        with tarfile.open(home / downloads[0].name, "w:gz") as archive:
            archive.add(folder, arcname=folder.name)
    elif source == "mnist-lt":
        y_train, y_test = np.array(_labels(10, 6)), np.array(_labels(10, 2))
        images = {
            k: RNG.integers(0, 256, (len(y), 28, 28), np.uint8) for k, y in (("x_train", y_train), ("x_test", y_test))
        }
        np.savez(home / downloads[0].name, y_train=y_train.astype(np.uint8), y_test=y_test.astype(np.uint8), **images)
    else:
        y_train, y_test = np.array(_labels(10, 6)), np.array(_labels(10, 2))
        arrays = [y_train, RNG.integers(0, 256, (60, 28, 28)), y_test, RNG.integers(0, 256, (20, 28, 28))]
        for download, array in zip(downloads, arrays, strict=True):
            _idx_gz(home / download.name, array)
    return [hashlib.sha256((home / d.name).read_bytes()).hexdigest() for d in downloads]


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("IMBALANCE_BENCH_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "image-benchmarks"


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise urllib.error.URLError("no network in this test")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


def fixture_checksums(monkeypatch: pytest.MonkeyPatch, source: str, checksums: list[str]) -> None:
    """The table's checksums replaced by the fixtures'."""
    downloads = image_benchmarks.SOURCES[source].downloads
    replaced = tuple(dataclasses.replace(d, sha256=digest) for d, digest in zip(downloads, checksums, strict=True))
    monkeypatch.setitem(
        image_benchmarks.SOURCES, source, dataclasses.replace(image_benchmarks.SOURCES[source], downloads=replaced)
    )


@pytest.mark.parametrize(
    ("source", "shape", "classes", "train", "test"),
    [
        ("cifar10-lt", (32, 32, 3), 10, 200, 30),
        ("cifar100-lt", (32, 32, 3), 100, 500, 100),
        ("mnist-lt", (28, 28, 1), 10, 60, 20),
        ("fashion-mnist-lt", (28, 28, 1), 10, 60, 20),
    ],
)
def test_each_source_loads_its_files_with_the_official_test_set_as_every_seeds_test_set(
    cache, offline, monkeypatch, tmp_path, source, shape, classes, train, test
):
    fixture_checksums(monkeypatch, source, write_source(cache, tmp_path / "scratch", source))
    name, dataset = load(parse_spec(f"{source}[ratio=10]"))
    assert name == f"{source}[ratio=10.0]" and dataset.input_shape == shape and dataset.x.dtype == np.uint8
    assert dataset.num_classes == classes and len(dataset.y) == train + test
    assert dataset.test_rows.tolist() == list(range(train, train + test))
    for seed in (1, 2):
        test_rows, pool = holdout(dataset, seed)
        assert test_rows.tolist() == dataset.test_rows.tolist(), "the official test set, whatever the seed"
        counts = np.bincount(dataset.y[pool], minlength=classes)
        assert counts[0] == np.bincount(dataset.y[:train]).min() and counts[-1] < counts[0], "long-tailed pool"


def test_a_cifar_image_is_read_in_its_channel_order(cache, offline, monkeypatch, tmp_path):
    fixture_checksums(monkeypatch, "cifar10-lt", write_source(cache, tmp_path / "scratch", "cifar10-lt"))
    _, dataset = load(parse_spec("cifar10-lt"))
    first = pickle.loads((tmp_path / "scratch" / "cifar10-lt" / "cifar-10-batches-py" / "data_batch_1").read_bytes())
    row = first[b"data"][0]  # 1024 red, then 1024 green, then 1024 blue values, row by row
    assert dataset.x[0, 0, 1].tolist() == [row[1], row[1025], row[2049]] and dataset.class_names[3] == "class3"


def test_a_study_runs_on_mnist_lt(cache, offline, monkeypatch, tmp_path):
    fixture_checksums(monkeypatch, "mnist-lt", write_source(cache, tmp_path / "scratch", "mnist-lt"))
    out = tmp_path / "study"
    args = ["run", "--profile", "smoke", "--epochs", "1", "--strategy", "baseline", "--model", "mlp"]
    assert main([*args, "--dataset", "mnist-lt[ratio=10]", "--out", str(out)]) == 0
    assert (out / "results.csv").read_text().count("mnist-lt[ratio=10.0]") == 1


def test_a_missing_download_is_one_line_naming_the_file_and_where_to_put_it(cache, offline, tmp_path, capsys):
    out = tmp_path / "study"
    assert main(["run", "--profile", "smoke", "--dataset", "cifar10-lt", "--out", str(out)]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: cifar10-lt: cannot download https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz")
    assert line.endswith(f"put it at {cache / 'cifar-10-python.tar.gz'}")
    assert not out.exists() and not list(cache.iterdir()), "no study folder, no partial download"


def test_a_download_lands_whole_in_the_cache_and_loads(cache, monkeypatch, tmp_path):
    served = tmp_path / "server"
    checksums = write_source(served, tmp_path / "scratch", "mnist-lt")
    fixture_checksums(monkeypatch, "mnist-lt", checksums)
    asked = []

    def serve(url: str, timeout: float) -> io.BytesIO:
        asked.append(url)
        return io.BytesIO((served / "mnist.npz").read_bytes())

    monkeypatch.setattr(urllib.request, "urlopen", serve)
    _, dataset = load(parse_spec("mnist-lt"))
    assert asked == ["https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"]
    assert [p.name for p in cache.iterdir()] == ["mnist.npz"] and len(dataset.y) == 80
    load(parse_spec("mnist-lt"))
    assert len(asked) == 1, "downloaded once, then read from the cache"


def test_a_file_that_fails_its_checksum_is_one_line(cache, offline, tmp_path, capsys):
    write_source(cache, tmp_path / "scratch", "mnist-lt")  # the table keeps the real checksum: the fixture fails it
    assert main(["inspect", "mnist-lt"]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"error: mnist-lt: {cache / 'mnist.npz'} fails its SHA-256 check")


def test_a_damaged_file_with_a_matching_checksum_is_one_line(cache, offline, monkeypatch, tmp_path, capsys):
    (cache / "cifar-10-python.tar.gz").parent.mkdir(parents=True)
    (cache / "cifar-10-python.tar.gz").write_bytes(b"not a tar archive")
    fixture_checksums(monkeypatch, "cifar10-lt", [hashlib.sha256(b"not a tar archive").hexdigest()])
    assert main(["inspect", "cifar10-lt"]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"error: cifar10-lt: cannot read {cache}")
