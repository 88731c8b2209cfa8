"""Image folders with one sub-folder per class (the bees/wasps notebook's layout).

Decoding dominates the cost of loading a folder, so the decoded array is cached
on disk, keyed by the folder's listing (names, sizes, modification times) and
the decoding options: a second run memory-maps the cache instead of decoding.
Images are decoded one at a time into a single preallocated array, so loading
never holds a second copy of the data.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.data.dataset import Dataset, LongTail, labelled
from bench.errors import UserError
from bench.storage.files import replacing
from bench.user_cache import cache_directory

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
COLOR_MODES = {"rgb": "RGB", "grayscale": "L"}
BAD_FILE_POLICIES = ("error", "skip")
CACHE_VERSION = 1  # bump when decoding changes, so old caches are not reused

log = logging.getLogger("bench")


@dataclass(frozen=True)
class Listing:
    """The image files of a folder, by class, and what was passed over."""

    class_names: tuple[str, ...]
    files: tuple[tuple[int, Path], ...]  # (class index, file)
    hidden: int
    not_images: int


def list_folder(root: Path) -> Listing:
    """Class sub-folders and their image files; hidden and non-image files are counted, not read."""
    if not root.exists():
        raise UserError(f"folder: {root} does not exist; give path=DIR holding one sub-folder of images per class")
    if not root.is_dir():
        raise UserError(f"folder: {root} is not a folder; give path=DIR holding one sub-folder of images per class")
    classes = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not classes:
        raise UserError(f"folder: {root} has no class sub-folders; put each class's images in {root}/<class name>/")
    files: list[tuple[int, Path]] = []
    hidden = not_images = 0
    for index, folder in enumerate(classes):
        found = 0
        for path in sorted(folder.iterdir()):
            if path.name.startswith("."):
                hidden += 1
            elif path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
                files.append((index, path))
                found += 1
            else:
                not_images += 1
        if not found:
            raise UserError(
                f"folder: class folder '{folder.name}' has no images ({', '.join(IMAGE_SUFFIXES)}); "
                "add images or remove the folder"
            )
    return Listing(tuple(d.name for d in classes), tuple(files), hidden, not_images)


def cache_key(listing: Listing, image_size: int | None, color: str, on_bad_file: str) -> str:
    """Changes whenever a file is added, removed, renamed or rewritten, or decoding changes."""
    entries = [_identity(path) for _, path in listing.files]
    text = json.dumps([CACHE_VERSION, image_size, color, on_bad_file, listing.class_names, entries])
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _identity(path: Path) -> tuple[str, int, int]:
    """What tells a file changed: its name, size and modification time (one stat call)."""
    stat = path.stat()
    return str(path), stat.st_size, stat.st_mtime_ns


def decode(path: Path, image_size: int | None, mode: str) -> np.ndarray:
    """One image as float32 in [0, 1], shape (height, width, channels)."""
    from PIL import Image

    with Image.open(path) as image:
        image = image.convert(mode)
        if image_size:
            image = image.resize((image_size, image_size), Image.Resampling.BILINEAR)
        pixels = np.asarray(image, dtype="float32") / 255.0
    return pixels[..., None] if pixels.ndim == 2 else pixels


def decode_all(listing: Listing, image_size: int | None, mode: str, on_bad_file: str) -> tuple[np.ndarray, np.ndarray]:
    """Every readable image into one preallocated array; returns (images, class indices)."""
    from PIL import Image

    labels = np.empty(len(listing.files), dtype="int64")
    images: np.ndarray | None = None
    kept = 0
    for label, path in listing.files:
        try:
            pixels = decode(path, image_size, mode)
        except (OSError, ValueError, Image.DecompressionBombError) as exc:  # UnidentifiedImageError is an OSError
            if on_bad_file == "skip":
                continue
            raise UserError(
                f"folder: cannot read image {path} ({exc}); fix or remove it, or pass on_bad_file=skip"
            ) from None
        if images is None:
            images = np.empty((len(listing.files), *pixels.shape), dtype="float32")
        elif pixels.shape != images.shape[1:]:
            first = listing.files[0][1]
            raise UserError(
                f"folder: images differ in size ({path.name} is {pixels.shape[1]}x{pixels.shape[0]}, "
                f"{first.name} is {images.shape[2]}x{images.shape[1]}); pass image_size=N to resize all to NxN"
            )
        images[kept], labels[kept] = pixels, label
        kept += 1
    if images is None:
        raise UserError("folder: no image could be read; check the files or their format")
    skipped = len(listing.files) - kept
    if skipped:
        log.info("folder: skipped %d unreadable image(s) (on_bad_file=skip)", skipped)
    return images[:kept], labels[:kept]


def _save(directory: Path, key: str, images: np.ndarray, labels: np.ndarray) -> None:
    """Images last: a cache entry counts only once both files exist, each written whole."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for suffix, array in (("labels", labels), ("images", images)):
            with replacing(directory / f"{key}-{suffix}.npy") as handle:
                np.save(handle, array, allow_pickle=False)
    except OSError as exc:  # a cache that cannot be written only costs time on the next run
        log.info("folder: cache not written to %s (%s)", directory, exc.strerror)


def _cached(directory: Path, key: str) -> tuple[np.ndarray, np.ndarray] | None:
    try:
        labels = np.load(directory / f"{key}-labels.npy", allow_pickle=False)
        images = np.load(directory / f"{key}-images.npy", mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError):
        return None
    return (images, labels) if len(images) == len(labels) else None


def load_folder(
    name: str,
    path: Path,
    image_size: int | None,
    color: str,
    on_bad_file: str,
    tail: LongTail | None,
) -> Dataset:
    """The folder as a Dataset, decoded once and memory-mapped from the cache afterwards."""
    listing = list_folder(path)
    if listing.hidden or listing.not_images:
        log.info("folder: skipped %d hidden and %d non-image file(s) in %s", listing.hidden, listing.not_images, path)
    directory, key = cache_directory(), cache_key(listing, image_size, color, on_bad_file)
    found = _cached(directory, key)
    if found is None:
        found = decode_all(listing, image_size, COLOR_MODES[color], on_bad_file)
        _save(directory, key, *found)
    images, labels = found
    missing = sorted(set(range(len(listing.class_names))) - set(np.unique(labels).tolist()))
    if missing:
        raise UserError(f"folder: no readable image in class folder '{listing.class_names[missing[0]]}'")
    return labelled(name, images, np.asarray(listing.class_names)[labels], tail)
