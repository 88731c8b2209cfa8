"""The image benchmarks long-tail papers report on (CIFAR-10/100, MNIST, Fashion-MNIST), with their official test sets.

The files are those `keras.datasets` downloads, from the same addresses with
the same SHA-256 checksums, fetched by Keras's own `get_file` into this
project's cache (keras.datasets would put them under ~/.keras, which no
argument changes) and read in their published formats. The training set is
thinned into a long tail per seed (Cao et al. 2019's protocol); the official,
balanced test set is every seed's test set.
"""

from __future__ import annotations

import gzip
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.data.dataset import Dataset, LongTail
from bench.errors import UserError
from bench.user_cache import cache_directory

KERAS_DATASETS = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
FASHION_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, tuple[str, ...]]  # x/y train, x/y test, class names


@dataclass(frozen=True)
class Download:
    """A file as keras.datasets fetches it: its address, its SHA-256 (None where Keras checks none), and the name
    it is kept under; an archive is unpacked into the folder of that name."""

    origin: str
    sha256: str | None
    name: str
    archive: bool = False


def _unpickled(path: Path) -> dict[bytes, object]:
    with path.open("rb") as file:  # the archive's checksum was verified before it was unpacked
        return pickle.load(file, encoding="bytes")


def _cifar_batch(path: Path, label_key: bytes) -> tuple[np.ndarray, np.ndarray]:
    batch = _unpickled(path)
    x = np.asarray(batch[b"data"], dtype="uint8").reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(x), np.asarray(batch[label_key], dtype="int64")


def _cifar10(paths: list[Path]) -> Arrays:
    folder = paths[0] / "cifar-10-batches-py"
    parts = [_cifar_batch(folder / f"data_batch_{i}", b"labels") for i in range(1, 6)]
    x_test, y_test = _cifar_batch(folder / "test_batch", b"labels")
    names = tuple(n.decode() for n in _unpickled(folder / "batches.meta")[b"label_names"])
    return np.concatenate([x for x, _ in parts]), np.concatenate([y for _, y in parts]), x_test, y_test, names


def _cifar100(paths: list[Path]) -> Arrays:
    folder = paths[0] / "cifar-100-python"
    x_train, y_train = _cifar_batch(folder / "train", b"fine_labels")
    x_test, y_test = _cifar_batch(folder / "test", b"fine_labels")
    names = tuple(n.decode() for n in _unpickled(folder / "meta")[b"fine_label_names"])
    return x_train, y_train, x_test, y_test, names


def _mnist(paths: list[Path]) -> Arrays:
    with np.load(paths[0], allow_pickle=False) as arrays:
        x_train, y_train, x_test, y_test = (arrays[k] for k in ("x_train", "y_train", "x_test", "y_test"))
    return x_train[..., None], y_train.astype("int64"), x_test[..., None], y_test.astype("int64"), tuple("0123456789")


def _idx(path: Path, offset: int) -> np.ndarray:
    """An IDX file's payload (LeCun's format: a header of `offset` bytes, then unsigned bytes)."""
    with gzip.open(path, "rb") as file:
        return np.frombuffer(file.read(), np.uint8, offset=offset)


def _fashion_mnist(paths: list[Path]) -> Arrays:
    y_train, x_train, y_test, x_test = (_idx(path, 8 if "labels" in path.name else 16) for path in paths)
    images = [x.reshape(len(y), 28, 28, 1) for x, y in ((x_train, y_train), (x_test, y_test))]
    return images[0], y_train.astype("int64"), images[1], y_test.astype("int64"), FASHION_NAMES


@dataclass(frozen=True)
class Source:
    downloads: tuple[Download, ...]
    read: Callable[[list[Path]], Arrays]


SOURCES: dict[str, Source] = {
    "cifar10-lt": Source(
        (
            Download(
                "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
                "cifar-10-batches-py-target",
                archive=True,
            ),
        ),
        _cifar10,
    ),
    "cifar100-lt": Source(
        (
            Download(
                "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
                "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7",
                "cifar-100-python-target",
                archive=True,
            ),
        ),
        _cifar100,
    ),
    "mnist-lt": Source(
        (
            Download(
                f"{KERAS_DATASETS}mnist.npz",
                "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
                "mnist.npz",
            ),
        ),
        _mnist,
    ),
    "fashion-mnist-lt": Source(
        tuple(
            Download(f"{KERAS_DATASETS}{name}", None, name)
            for name in (
                "train-labels-idx1-ubyte.gz",
                "train-images-idx3-ubyte.gz",
                "t10k-labels-idx1-ubyte.gz",
                "t10k-images-idx3-ubyte.gz",
            )
        ),
        _fashion_mnist,
    ),
}


def data_home() -> Path:
    """Where the files are kept: this project's cache, in the folder layout Keras's get_file makes."""
    return cache_directory() / "keras-datasets"


def _fetched(source: str, download: Download) -> Path:
    """The downloaded (and, for an archive, unpacked) file, fetched on first use; offline, one line saying where
    to put it."""
    from keras.utils import get_file  # the backend loads only when one of these datasets is read

    home = data_home()
    home.mkdir(parents=True, exist_ok=True)  # get_file falls back to /tmp when the folder is not writable yet
    try:
        kept = get_file(
            download.name,
            download.origin,
            file_hash=download.sha256,
            cache_dir=str(home.parent),
            cache_subdir=home.name,
            extract=download.archive,
        )
    except Exception as exc:  # get_file raises a bare Exception for a failed download, ValueError for a bad checksum
        target = home / (f"{download.name}_archive" if download.archive else download.name)
        raise UserError(
            f"{source}: cannot get {download.origin} ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}); "
            f"download it elsewhere and put it at {target}"
        ) from None
    return Path(kept)


def load_keras_dataset(source: str, tail: LongTail | None) -> Dataset:
    """The official training set (thinned per seed by `tail`) and test set, as one Dataset with `test_rows`."""
    x_train, y_train, x_test, y_test, names = SOURCES[source].read(
        [_fetched(source, d) for d in SOURCES[source].downloads]
    )
    return Dataset(
        name=source,
        x=np.concatenate([x_train, x_test]),
        y=np.concatenate([y_train, y_test]),
        class_names=names,
        test_rows=np.arange(len(y_train), len(y_train) + len(y_test)),
        long_tail=tail,
    )
