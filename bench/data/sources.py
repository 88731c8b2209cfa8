"""Every dataset a spec can name, and the path shorthand for a user's own files.

Built-in sources work offline (scikit-learn's digits, synthetic images and
tables); user sources read an image folder, a CSV or an npz. Any source takes
the imbalance parameters `ratio`, `profile` and `mu` to thin its training pool
into a long tail reproducibly per seed (ratio 1 keeps the data's own counts).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from bench.data.dataset import IMBALANCE, IMBALANCE_BOUNDS, IMBALANCE_OPTIONS, PROFILES, Dataset, long_tail
from bench.data.image_benchmarks import load_image_benchmark
from bench.data.images import BAD_FILE_POLICIES, COLOR_MODES, load_folder
from bench.data.imblearn_zoo import load_zoo, names
from bench.data.npz import load_npz
from bench.data.openml import load_openml
from bench.data.synthetic import SHAPES, synthetic_images, synthetic_tabular
from bench.errors import UserError
from bench.registry import Bounds, Entry, Registry, Unset
from bench.specs import Spec

MISSING_POLICIES = ("error", "drop", "impute")  # what a CSV's missing values get (bench.data.tabular)
SHORTHAND = {".csv": "csv", ".npz": "npz"}  # and a directory: folder


def _digits(name: str, ratio: float, profile: str, mu: float, test_per_class: int) -> Dataset:
    from sklearn.datasets import load_digits

    tail = long_tail(ratio, profile, mu)
    digits = load_digits()
    smallest = int(np.bincount(digits.target).min())
    if not 1 <= test_per_class <= smallest - 2:
        raise UserError(f"{name}: test_per_class must be between 1 and {smallest - 2}, got {test_per_class}")
    return Dataset(
        name=name,
        x=(digits.data / 16.0).astype("float32"),
        y=digits.target.astype("int64"),
        class_names=tuple(str(c) for c in digits.target_names),
        test_per_class=test_per_class,
        long_tail=tail,
    )


def _required_path(source: str, path: str | None) -> Path:
    if path is None:
        raise UserError(f"{source}: give the data's location, e.g. {source}[path=...]")
    return Path(path).expanduser()


def _folder(
    path: str | None, image_size: int | None, color: str, on_bad_file: str, ratio: float, profile: str, mu: float
) -> Dataset:
    tail = long_tail(ratio, profile, mu)
    return load_folder("folder", _required_path("folder", path), image_size, color, on_bad_file, tail)


def _csv(path: str | None, target: str | None, missing: str, ratio: float, profile: str, mu: float) -> Dataset:
    from bench.data.tabular import load_csv  # pandas: loaded only when a CSV is read, not for `bench list`

    return load_csv("csv", _required_path("csv", path), target, missing, long_tail(ratio, profile, mu))


def _npz(path: str | None, ratio: float, profile: str, mu: float) -> Dataset:
    return load_npz("npz", _required_path("npz", path), long_tail(ratio, profile, mu))


def _zoo(name: str | None, ratio: float, profile: str, mu: float) -> Dataset:
    return load_zoo(name, long_tail(ratio, profile, mu))


def _openml(
    id: int | None, name: str | None, target: str | None, missing: str, ratio: float, profile: str, mu: float
) -> Dataset:
    return load_openml(id, name, target, missing, long_tail(ratio, profile, mu))


def _image_benchmark(source: str, ratio: float, profile: str, mu: float) -> Dataset:
    return load_image_benchmark(source, long_tail(ratio, profile, mu))


def _official_split(name: str, what: str, reference: str) -> Entry[Dataset]:
    return Entry(
        name,
        f"{what}, training set long-tailed per seed, the official test set as test (downloaded once into the "
        "user's cache)",
        functools.partial(_image_benchmark, name),
        {"ratio": 100.0, "profile": "exp", "mu": 0.5},
        reference,
        bounds=IMBALANCE_BOUNDS,
        options=IMBALANCE_OPTIONS,
    )


DATASETS: Registry[Dataset] = Registry("dataset")
for _entry in (
    _official_split("cifar10-lt", "CIFAR-10 (32x32 colour, 10 classes)", "Cao et al. 2019 (CIFAR-10-LT)"),
    _official_split("cifar100-lt", "CIFAR-100 (32x32 colour, 100 classes)", "Cao et al. 2019 (CIFAR-100-LT)"),
    _official_split("mnist-lt", "MNIST (28x28 grey digits)", "Cao et al. 2019's profile on MNIST"),
    _official_split(
        "fashion-mnist-lt", "Fashion-MNIST (28x28 grey clothing)", "Cao et al. 2019's profile on Fashion-MNIST"
    ),
    Entry(
        "digits-lt",
        "scikit-learn's 8x8 digits as 64-pixel vectors, long-tailed after a balanced test cut",
        functools.partial(_digits, "digits-lt"),
        {"ratio": 100.0, "profile": "exp", "mu": 0.5, "test_per_class": 30},
        "Cao et al. 2019 (CIFAR-10-LT protocol)",
        bounds=IMBALANCE_BOUNDS,
        options=IMBALANCE_OPTIONS,
    ),
    Entry(
        "digits-step",
        "scikit-learn's digits with step imbalance: a fraction mu of classes has 1/ratio of the samples",
        functools.partial(_digits, "digits-step"),
        {"ratio": 10.0, "profile": "step", "mu": 0.5, "test_per_class": 30},
        "Buda et al. 2018, A systematic study of the class imbalance problem in CNNs",
        bounds=IMBALANCE_BOUNDS,
        options=IMBALANCE_OPTIONS,
    ),
    Entry(
        "folder",
        "image folder, one sub-folder per class; image_size=N resizes to NxN (unset: sizes must match); "
        "decoded once, then cached",
        _folder,
        {"path": Unset(str), "image_size": Unset(int), "color": "rgb", "on_bad_file": "error", **IMBALANCE},
        bounds={"image_size": Bounds(1), **IMBALANCE_BOUNDS},
        options={"color": tuple(COLOR_MODES), "on_bad_file": BAD_FILE_POLICIES, **IMBALANCE_OPTIONS},
    ),
    Entry(
        "csv",
        "table with a target column; text columns one-hot, numeric ones standardised per training fold; "
        "missing=error|drop|impute",
        _csv,
        {"path": Unset(str), "target": Unset(str), "missing": "error", **IMBALANCE},
        bounds=IMBALANCE_BOUNDS,
        options={"missing": MISSING_POLICIES, **IMBALANCE_OPTIONS},
    ),
    Entry(
        "npz",
        "arrays x and y (optional class_names) saved with numpy.savez, loaded without pickle",
        _npz,
        {"path": Unset(str), **IMBALANCE},
        bounds=IMBALANCE_BOUNDS,
        options=IMBALANCE_OPTIONS,
    ),
    Entry(
        "imblearn-zoo",
        "imbalanced-learn's benchmark collection of 27 binary tables by name (downloaded once into the user's cache)",
        _zoo,
        {"name": Unset(str), **IMBALANCE},
        "Ding 2011, via imbalanced-learn fetch_datasets",
        bounds=IMBALANCE_BOUNDS,
        options={"name": names(), **IMBALANCE_OPTIONS},
    ),
    Entry(
        "openml",
        "an OpenML table by id or name (its default target unless target= names a column; downloaded once into the "
        "user's cache); handled as a CSV is",
        _openml,
        {"id": Unset(int), "name": Unset(str), "target": Unset(str), "missing": "error", **IMBALANCE},
        "Vanschoren et al. 2013, via scikit-learn fetch_openml",
        bounds={"id": Bounds(1), **IMBALANCE_BOUNDS},
        options={"missing": MISSING_POLICIES, **IMBALANCE_OPTIONS},
    ),
    Entry(
        "synthetic-images",
        "drawn shapes over noise, one per class; profile=notebook|exp|step|linear (notebook: 4 classes at 43/28/21/8%)",
        synthetic_images,
        {"classes": 4, "samples": 1000, "image_size": 32, "profile": "notebook", "ratio": 10.0, "mu": 0.5, "seed": 0},
        bounds={"classes": Bounds(2, len(SHAPES)), "samples": Bounds(1), "image_size": Bounds(8), **IMBALANCE_BOUNDS},
        options={"profile": ("notebook", *PROFILES)},
    ),
    Entry(
        "synthetic-tabular",
        "scikit-learn make_classification with long-tailed class weights; profile=exp|step|linear",
        synthetic_tabular,
        {"classes": 3, "samples": 3000, "features": 20, "profile": "exp", "ratio": 10.0, "mu": 0.5, "seed": 0},
        bounds={"classes": Bounds(2), "samples": Bounds(1), "features": Bounds(2), **IMBALANCE_BOUNDS},
        options=IMBALANCE_OPTIONS,
    ),
):
    DATASETS.add(_entry)


def _with(spec: Spec, **values: str) -> Spec:
    return Spec(spec.name, tuple(sorted({**spec.kwargs, **values}.items())))


def expand(spec: Spec, target: str = "", base: Path = Path()) -> Spec:
    """Path shorthand to its source spec (a folder, `.csv` or `.npz` as the name); `target` fills csv's.

    Relative paths are taken from `base`: the study file's folder for specs
    written in a study file, the working directory for the command line.
    """
    name = spec.name
    if name not in DATASETS and ("/" in name or Path(name).suffix or (base / name).exists()):
        path = base / Path(name).expanduser()
        if not path.exists():
            raise UserError(f"no such file or folder: {path}; give an image folder, a .csv or a .npz")
        source = "folder" if path.is_dir() else SHORTHAND.get(path.suffix.lower())
        if source is None:
            raise UserError(f"{name}: cannot tell the format; give an image folder, a .csv or a .npz file")
        spec = _with(Spec(source, spec.params), path=str(path))
    elif isinstance(path := spec.kwargs.get("path"), str) and base != Path():
        spec = _with(spec, path=str(base / Path(path).expanduser()))
    if spec.name == "csv" and target and "target" not in spec.kwargs:
        spec = _with(spec, target=target)
    return spec


def load(spec: Spec, target: str = "") -> tuple[str, Dataset]:
    """(canonical name, dataset) for a spec as written by the user."""
    spec = expand(spec, target)
    entry = DATASETS[spec.name]
    return str(entry.canonical(spec)), entry.create(spec)
