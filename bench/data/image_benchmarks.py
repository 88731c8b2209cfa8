"""The image benchmarks long-tail papers report on (CIFAR-10/100, MNIST, Fashion-MNIST), with their official test sets.

The files are those the papers' loaders read: CIFAR from its authors' site
and MNIST from the copy `keras.datasets` uses (with the SHA-256 sums Keras
pins), Fashion-MNIST from Zalando's repository (with the sums Zalando
publishes). They are downloaded once into this project's cache and read in
their published formats, straight from the downloaded file (a CIFAR archive
is never unpacked). Written here rather than with Keras's `get_file`, which
would load the backend before a study's bad input is refused, unpacks an
archive again on every call (a race between worker processes), re-downloads
a file that fails its checksum, and falls back to /tmp when the cache cannot
be written. The training set is thinned into a long tail per seed (Cao et
al. 2019's protocol); the official test set is every seed's test set
(balanced for CIFAR and Fashion-MNIST; MNIST's holds 892 to 1,135 per class).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import pickle
import shutil
import tarfile
import tempfile
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.data.dataset import Dataset, LongTail
from bench.errors import UserError
from bench.user_cache import cache_directory

KERAS_DATASETS = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
ZALANDO = "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"
FASHION_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"
)  # fmt: skip
Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, tuple[str, ...]]  # x/y train, x/y test, class names


@dataclass(frozen=True)
class Download:
    """A published file: where it comes from, its SHA-256, and the name it is kept under in the cache."""

    origin: str
    sha256: str
    name: str


def _cifar_arrays(batch: dict[bytes, object], label_key: bytes) -> tuple[np.ndarray, np.ndarray]:
    """A CIFAR batch's (N, 3072) rows (1024 red, 1024 green, 1024 blue values) as (N, 32, 32, 3) images."""
    x = np.asarray(batch[b"data"], dtype="uint8").reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(x), np.asarray(batch[label_key], dtype="int64")


def _unpickled_members(archive: Path, folder: str, names: tuple[str, ...]) -> dict[str, dict[bytes, object]]:
    """The named pickled members of a CIFAR archive, read in one pass (the archive's checksum was verified)."""
    wanted = {f"{folder}/{name}": name for name in names}
    found = {}
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            if member.name in wanted and (file := tar.extractfile(member)) is not None:
                found[wanted[member.name]] = pickle.load(file, encoding="bytes")
    if missing := sorted(set(names) - set(found)):
        raise ValueError(f"the archive lacks {folder}/{missing[0]}")
    return found


def _cifar10(paths: list[Path]) -> Arrays:
    names = tuple(f"data_batch_{i}" for i in range(1, 6))
    members = _unpickled_members(paths[0], "cifar-10-batches-py", (*names, "test_batch", "batches.meta"))
    parts = [_cifar_arrays(members[name], b"labels") for name in names]
    x_test, y_test = _cifar_arrays(members["test_batch"], b"labels")
    classes = tuple(n.decode() for n in members["batches.meta"][b"label_names"])  # type: ignore[attr-defined]
    return np.concatenate([x for x, _ in parts]), np.concatenate([y for _, y in parts]), x_test, y_test, classes


def _cifar100(paths: list[Path]) -> Arrays:
    members = _unpickled_members(paths[0], "cifar-100-python", ("train", "test", "meta"))
    x_train, y_train = _cifar_arrays(members["train"], b"fine_labels")
    x_test, y_test = _cifar_arrays(members["test"], b"fine_labels")
    classes = tuple(n.decode() for n in members["meta"][b"fine_label_names"])  # type: ignore[attr-defined]
    return x_train, y_train, x_test, y_test, classes


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


FASHION_FILES = {
    "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
}
SOURCES: dict[str, Source] = {
    "cifar10-lt": Source(
        (
            Download(
                "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
                "cifar-10-python.tar.gz",
            ),
        ),
        _cifar10,
    ),
    "cifar100-lt": Source(
        (
            Download(
                "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
                "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7",
                "cifar-100-python.tar.gz",
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
        tuple(Download(f"{ZALANDO}{name}", sha256, f"fashion-mnist-{name}") for name, sha256 in FASHION_FILES.items()),
        _fashion_mnist,
    ),
}


def data_home() -> Path:
    return cache_directory() / "image-benchmarks"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _download(source: str, download: Download, target: Path) -> None:
    """Into a temporary file beside `target`, renamed into place when whole: a reader (another worker process)
    never sees half a file, and two processes downloading at once each leave a whole one."""
    part = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with (
            tempfile.NamedTemporaryFile(dir=target.parent, prefix=f".{target.name}.", delete=False) as part,
            urllib.request.urlopen(download.origin, timeout=60) as response,  # per read: a stalled server fails
        ):
            shutil.copyfileobj(response, part)
        os.replace(part.name, target)
    except OSError as exc:  # no network (URLError is an OSError), or a cache that cannot be written
        if part is not None:
            Path(part.name).unlink(missing_ok=True)
        raise UserError(
            f"{source}: cannot download {download.origin} ({exc}); download it elsewhere and put it at {target}"
        ) from None


def _fetched(source: str, download: Download) -> Path:
    """The file in the cache, downloaded on first use, checked against its SHA-256 every time."""
    target = data_home() / download.name
    if not target.is_file():
        _download(source, download, target)
    if _sha256(target) != download.sha256:
        raise UserError(
            f"{source}: {target} fails its SHA-256 check (a changed or damaged copy of {download.origin}); "
            "delete it and run again to download it anew"
        )
    return target


def load_image_benchmark(source: str, tail: LongTail | None) -> Dataset:
    """The official training set (thinned per seed by `tail`) and test set, as one Dataset with `test_rows`."""
    paths = [_fetched(source, download) for download in SOURCES[source].downloads]
    try:
        x_train, y_train, x_test, y_test, names = SOURCES[source].read(paths)
    except (
        OSError,
        EOFError,
        ValueError,
        KeyError,
        pickle.UnpicklingError,
        tarfile.TarError,
        zipfile.BadZipFile,
    ) as exc:
        raise UserError(
            f"{source}: cannot read {paths[0].parent}: {exc}; delete its files to download them anew"
        ) from None
    return Dataset(
        name=source,
        x=np.concatenate([x_train, x_test]),
        y=np.concatenate([y_train, y_test]),
        class_names=names,
        test_rows=np.arange(len(y_train), len(y_train) + len(y_test)),
        long_tail=tail,
    )
