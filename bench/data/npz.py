"""Arrays from a user's own pipeline: a .npz with `x`, `y` and optionally `class_names`.

Loaded with allow_pickle=False: a .npz can carry pickled Python objects, and
unpickling a file someone handed over runs their code.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from bench.data.dataset import Dataset, LongTail, checked, labelled, require_finite
from bench.errors import UserError

HOW_TO_SAVE = "save with np.savez(path, x=features, y=labels, class_names=names) (class_names optional)"


def read_arrays(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise UserError(f"npz: {path} is not a file; give path=FILE.npz")
    try:
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise UserError(f"npz: {path} holds one array, not an archive of x and y; {HOW_TO_SAVE}")
        with archive:
            missing = [k for k in ("x", "y") if k not in archive.files]
            if missing:
                raise UserError(f"npz: {path} has no array {' or '.join(missing)}; {HOW_TO_SAVE}")
            return {k: archive[k] for k in ("x", "y", "class_names") if k in archive.files}
    except ValueError as exc:  # object arrays, which only pickle could load
        raise UserError(f"npz: {path} holds Python objects ({exc}); {HOW_TO_SAVE} as numeric or text arrays") from None
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise UserError(f"npz: cannot read {path} ({exc}); {HOW_TO_SAVE}") from None


def named_labels(name: str, y: np.ndarray, class_names: np.ndarray) -> np.ndarray:
    """y as indices into class_names, given either as indices or as names."""
    names = [str(n) for n in class_names.ravel()]
    if np.issubdtype(y.dtype, np.integer):
        outside = y[(y < 0) | (y >= len(names))]
        if len(outside):
            raise UserError(
                f"{name}: label {outside[0]} in y is not an index into class_names ({len(names)} names); "
                "make y hold 0..n-1 or the names themselves"
            )
        return y.astype("int64")
    unknown = sorted(set(y.astype(str).tolist()) - set(names))
    if unknown:
        raise UserError(f"{name}: label '{unknown[0]}' in y is not in class_names {names}")
    return np.array([names.index(label) for label in y.astype(str)], dtype="int64")


def load_npz(name: str, path: Path, tail: LongTail | None) -> Dataset:
    arrays = read_arrays(path)
    x, y = arrays["x"], arrays["y"]
    if y.ndim != 1:
        raise UserError(f"{name}: y must hold one label per row (shape (n,)), got shape {y.shape}")
    if np.issubdtype(y.dtype, np.floating) and (missing := int(np.isnan(y).sum())):
        raise UserError(
            f"{name}: {missing} label(s) in y are missing (NaN); drop those rows or give them a class, then run again"
        )
    if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise UserError(f"{name}: x must be a numeric array, got dtype {x.dtype}")
    if x.ndim < 2:
        raise UserError(f"{name}: x must have one row per sample (shape (n, ...)), got shape {x.shape}")
    x = x.astype("float32", copy=False)
    require_finite(name, x)
    if "class_names" not in arrays:
        return labelled(name, x, y, tail)
    if len(x) != len(y):
        raise UserError(f"{name}: {len(x)} rows in x but {len(y)} labels in y; give one label per row")
    indices = named_labels(name, y, arrays["class_names"])
    names = tuple(str(n) for n in arrays["class_names"].ravel())
    empty = [names[c] for c in range(len(names)) if not (indices == c).any()]
    if empty:
        raise UserError(f"{name}: class '{empty[0]}' in class_names has no samples in y; remove it from class_names")
    return checked(Dataset(name, x, indices, names, long_tail=tail))
