"""Synthetic sources: class sizes follow the chosen profile; the same seed gives the same data."""

from __future__ import annotations

import numpy as np
import pytest

from bench.data.sources import load
from bench.data.synthetic import class_sizes, synthetic_images, synthetic_tabular
from bench.errors import UserError
from bench.specs import parse_spec


def test_default_images_follow_the_notebook_shares():
    dataset = synthetic_images(4, 1000, 16, "notebook", 10.0, 0.5, 0)
    assert np.bincount(dataset.y).tolist() == [430, 280, 210, 80]
    assert dataset.x.shape == (1000, 16, 16, 3)


def test_exp_and_step_profiles():
    assert class_sizes("t", 3, 1110, "exp", 100.0, 0.5).tolist() == [1000, 100, 10]
    assert class_sizes("t", 4, 220, "step", 10.0, 0.5).tolist() == [100, 100, 10, 10]


def test_same_seed_same_data_other_seed_other_data():
    a, b, c = (synthetic_images(3, 300, 12, "exp", 2.0, 0.5, seed) for seed in (1, 1, 2))
    np.testing.assert_array_equal(a.x, b.x)
    assert not np.array_equal(a.x, c.x)


def test_tabular_counts_and_shape():
    dataset = synthetic_tabular(3, 1110, 8, "exp", 10.0, 0.5, 0)
    counts = np.bincount(dataset.y)
    assert dataset.x.shape[1] == 8 and counts[0] > counts[1] > counts[2]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("synthetic-images[classes=1]", r"^synthetic-images: parameter 'classes' must be in \[2, 8\], got 1$"),
        ("synthetic-images[classes=3]", "profile=notebook has 4 classes"),
        ("synthetic-images[classes=3,samples=30,profile=exp,ratio=100]", "smallest class would have"),
        ("synthetic-images[image_size=4]", r"'image_size' must be in \[8, inf\), got 4$"),
        ("synthetic-images[profile=zipf]", r"'profile' must be one of notebook, exp, step, linear, got 'zipf'$"),
        ("synthetic-tabular[features=1]", r"'features' must be in \[2, inf\), got 1$"),
        ("synthetic-tabular[mu=1.0]", r"'mu' must be in \(0, 1\), got 1.0$"),
    ],
)
def test_impossible_requests_are_refused(spec, message):
    with pytest.raises(UserError, match=message):
        load(parse_spec(spec))
