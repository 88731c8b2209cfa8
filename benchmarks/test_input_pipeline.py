"""Feeding one epoch: plain shuffling, streaming oversampling, and a materialised oversampled copy.

200,000 rows of 64 float32 features (51 MB) in 10 classes with a long tail of
ratio 100, oversampled up to the largest class. The harness streams: each
epoch is a list of int32 row indices and batches are gathered from the one
copy of the data.
RandomOverSampler on the features instead materialises a copy that grows
with the ratio. Each benchmark records, beside its time, the peak memory
(tracemalloc) of preparing and iterating one epoch, with the dataset itself
counted in: `extra_info["peak_mb"]`.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable

import keras_tuner
import numpy as np
import pytest
from imblearn.over_sampling import RandomOverSampler

from bench.data.dataset import LongTail
from bench.training.batches import EpochBatches
from strategies import resolve
from strategies.resampling import oversampling_plan

ROWS, FEATURES, CLASSES, BATCH = 200_000, 64, 10, 256


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    shares = LongTail(ratio=100.0).sizes(CLASSES, 1.0)
    y = np.repeat(np.arange(CLASSES), np.round(ROWS * shares / shares.sum()).astype(int))
    x = np.random.default_rng(0).normal(size=(len(y), FEATURES)).astype("float32")
    return x, y


def streamed_epoch(x: np.ndarray, y: np.ndarray, strategy: str) -> int:
    """What the harness does per epoch: draw the strategy's index order, gather every batch."""
    batches = EpochBatches(x, y, CLASSES, BATCH, resolve(strategy).sampler(keras_tuner.HyperParameters(), y), 1)
    for index in range(len(batches)):
        batches[index]
    return len(batches.order)


def materialised_epoch(x: np.ndarray, y: np.ndarray) -> int:
    """The copying alternative: oversampled feature arrays, then batches sliced from them."""
    sampler = RandomOverSampler(sampling_strategy=oversampling_plan(y, 1.0), random_state=1)
    x_copy, y_copy = sampler.fit_resample(x, y)
    onehot = np.eye(CLASSES, dtype="float32")[y_copy]
    order = np.random.default_rng(1).permutation(len(y_copy))
    for start in range(0, len(order), BATCH):
        rows = order[start : start + BATCH]
        x_copy[rows], onehot[rows]
    return len(y_copy)


def measured(benchmark, x: np.ndarray, epoch: Callable[[], int]) -> int:
    tracemalloc.start()
    try:
        samples = epoch()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    benchmark.extra_info["samples_per_epoch"] = samples
    benchmark.extra_info["peak_mb"] = round((x.nbytes + peak) / 2**20, 1)
    return benchmark.pedantic(epoch, rounds=3, iterations=1)


def test_baseline_epoch(benchmark, data):
    x, y = data
    assert measured(benchmark, x, lambda: streamed_epoch(x, y, "baseline")) == len(y)


def test_streaming_oversample_epoch(benchmark, data):
    x, y = data
    samples = measured(benchmark, x, lambda: streamed_epoch(x, y, "oversample[target=1.0]"))
    assert samples == CLASSES * np.bincount(y).max()


def test_materialised_oversample_epoch(benchmark, data):
    x, y = data
    samples = measured(benchmark, x, lambda: materialised_epoch(x, y))
    assert samples == CLASSES * np.bincount(y).max()
