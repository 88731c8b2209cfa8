"""Synthetic sources: class sizes follow the chosen profile; the same seed gives the same data."""

from __future__ import annotations

import numpy as np
import pytest

from bench.data.synthetic import class_sizes, synthetic_images, synthetic_tabular
from bench.errors import UserError


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
    ("args", "message"),
    [
        ((1, 100, 16, "exp", 2.0, 0.5, 0), "classes must be between 2"),
        ((3, 100, 16, "notebook", 2.0, 0.5, 0), "profile=notebook has 4 classes"),
        ((3, 30, 16, "exp", 100.0, 0.5, 0), "smallest class would have"),
        ((3, 300, 4, "exp", 2.0, 0.5, 0), "image_size must be at least 8"),
    ],
)
def test_impossible_requests_are_refused(args, message):
    with pytest.raises(UserError, match=message):
        synthetic_images(*args)
