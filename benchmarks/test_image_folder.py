"""Loading an image folder: first decode versus the cached, memory-mapped reload.

2,000 PNGs of 64x64 pixels in the source notebook's four classes (43/28/21/8%),
decoded to 64x64 RGB. `test_first_load` starts every round from an empty cache
(PIL decoding plus writing the cache); `test_cached_load` is what every later
run of a study on the same folder pays.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.data.images import load_folder
from bench.data.synthetic import synthetic_images

IMAGES = 2000


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("insects")
    drawn = synthetic_images(4, IMAGES, 64, "notebook", 10.0, 0.5, 0)
    for row, (pixels, label) in enumerate(zip(drawn.x, drawn.y, strict=True)):
        folder = root / drawn.class_names[label]
        folder.mkdir(exist_ok=True)
        Image.fromarray((pixels * 255).astype("uint8")).save(folder / f"{row:05d}.png")
    return root


def load(root: Path):
    return load_folder("folder", root, None, "rgb", "error", None)


def test_first_load(benchmark, folder, tmp_path, monkeypatch):
    rounds = iter(range(100))

    def empty_cache():
        monkeypatch.setenv("IMBALANCE_BENCH_CACHE", str(tmp_path / f"cache-{next(rounds)}"))

    dataset = benchmark.pedantic(load, args=(folder,), setup=empty_cache, rounds=3)
    assert dataset.x.shape == (IMAGES, 64, 64, 3)
    benchmark.extra_info["images"] = IMAGES


def test_cached_load(benchmark, folder, tmp_path, monkeypatch):
    monkeypatch.setenv("IMBALANCE_BENCH_CACHE", str(tmp_path / "cache"))
    first = load(folder)
    dataset = benchmark.pedantic(load, args=(folder,), rounds=10)
    assert isinstance(dataset.x, np.memmap)
    np.testing.assert_array_equal(dataset.y, first.y)
    benchmark.extra_info["images"] = IMAGES
