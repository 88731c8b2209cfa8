"""Synthetic data with a chosen imbalance, made offline from a seed.

Images: one drawn shape or texture per class, bright, at a random place,
size and colour on a dark noisy background, so a CNN must learn shape rather
than colour or position (and a small one can, within a laptop-sized budget).
The default mirrors the source notebook's four classes at 43/28/21/8%.
Tabular: scikit-learn's make_classification with class weights.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from bench.data.dataset import Dataset, LongTail, checked
from bench.errors import UserError

NOTEBOOK_SHARES = (0.43, 0.28, 0.21, 0.08)  # the bees/wasps notebook's class proportions

Mask = Callable[[np.ndarray, np.ndarray, float], np.ndarray]  # (dx, dy, radius) -> bool image
SHAPES: dict[str, Mask] = {
    "disc": lambda dx, dy, r: dx**2 + dy**2 <= r**2,
    "square": lambda dx, dy, r: np.maximum(abs(dx), abs(dy)) <= r,
    "triangle": lambda dx, dy, r: (abs(dy) <= r) & (abs(dx) <= (dy + r) / 2),
    "ring": lambda dx, dy, r: abs(np.sqrt(dx**2 + dy**2) - 0.75 * r) <= 0.25 * r,
    "cross": lambda dx, dy, r: (np.minimum(abs(dx), abs(dy)) <= r / 3) & (np.maximum(abs(dx), abs(dy)) <= r),
    "h-stripes": lambda dx, dy, r: (np.maximum(abs(dx), abs(dy)) <= r) & (np.mod(dy, r / 2) < r / 4),
    "v-stripes": lambda dx, dy, r: (np.maximum(abs(dx), abs(dy)) <= r) & (np.mod(dx, r / 2) < r / 4),
    "checker": lambda dx, dy, r: (
        (np.maximum(abs(dx), abs(dy)) <= r) & ((np.mod(dx, r / 2) < r / 4) ^ (np.mod(dy, r / 2) < r / 4))
    ),
}


def class_sizes(owner: str, classes: int, samples: int, profile: str, ratio: float, mu: float) -> np.ndarray:
    """Samples per class: the notebook's shares, or an exp/step profile from largest to smallest."""
    if profile == "notebook":
        if classes != len(NOTEBOOK_SHARES):
            raise UserError(f"{owner}: profile=notebook has 4 classes; use profile=exp, step or linear for {classes}")
        shares = np.array(NOTEBOOK_SHARES)
    else:  # exp, step or linear: the registry checks the options, ratio and mu
        shares = LongTail(ratio, profile, mu).sizes(classes, 1.0)
    sizes = np.round(samples * shares / shares.sum()).astype(int)
    if sizes.min() < 5:
        raise UserError(f"{owner}: the smallest class would have {sizes.min()} samples; raise samples or lower ratio")
    return sizes


def synthetic_images(
    classes: int, samples: int, image_size: int, profile: str, ratio: float, mu: float, seed: int
) -> Dataset:
    owner = "synthetic-images"
    sizes = class_sizes(owner, classes, samples, profile, ratio, mu)
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(classes), sizes)
    x = np.empty((len(y), image_size, image_size, 3), dtype="float32")
    grid = np.arange(image_size, dtype="float32")
    kinds = list(SHAPES.values())
    for row, label in enumerate(y):
        cx, cy = rng.uniform(0.35, 0.65, 2) * image_size
        radius = rng.uniform(0.2, 0.32) * image_size
        mask = kinds[label](grid[None, :] - cx, grid[:, None] - cy, radius)
        image = rng.normal(0.15, 0.1, (image_size, image_size, 3))
        image[mask] = rng.uniform(0.6, 1.0, 3) + rng.normal(0, 0.1, (int(mask.sum()), 3))
        x[row] = np.clip(image, 0.0, 1.0)
    names = tuple(list(SHAPES)[:classes])
    return checked(Dataset(owner, x, y, names))


def synthetic_tabular(
    classes: int, samples: int, features: int, profile: str, ratio: float, mu: float, seed: int
) -> Dataset:
    from sklearn.datasets import make_classification

    owner = "synthetic-tabular"
    sizes = class_sizes(owner, classes, samples, profile, ratio, mu)
    informative = min(features, max(2, int(np.ceil(np.log2(classes))) + 1, features // 2))
    if classes > 2**informative:
        needed = int(np.ceil(np.log2(classes)))
        raise UserError(f"{owner}: {classes} classes need at least {needed} features, got {features}")
    x, y = make_classification(
        n_samples=int(sizes.sum()),
        n_features=features,
        n_informative=informative,
        n_redundant=min(2, features - informative),
        n_classes=classes,
        n_clusters_per_class=1,
        weights=list(sizes / sizes.sum()),
        flip_y=0.0,
        random_state=seed,
    )
    return checked(Dataset(owner, x.astype("float32"), y.astype("int64"), tuple(f"class-{c}" for c in range(classes))))
