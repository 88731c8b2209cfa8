import random

import keras
import numpy as np
import pytest

from bench.training.batches import EpochBatches, FeedEpoch
from bench.training.tf_input import tf_fit_arguments
from strategies.base import ClassWeights

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="TensorFlow's own input path; runs in the tensorflow tox env"
)

RNG = np.random.default_rng(0)
X = RNG.normal(size=(70, 6)).astype("float32")
Y = np.array([0] * 45 + [1] * 18 + [2] * 7)
CLASS_WEIGHTS = ClassWeights(np.array([1.0, 2.5, 6.0]), start=1)  # the per-sample weights change after epoch 1


def oversampling_batches(weights: ClassWeights | None = None, seed: int = 4) -> EpochBatches:
    """A sampler that draws with replacement, so every epoch's order depends on the batches' own generator."""
    chance = 1 / np.bincount(Y)[Y]
    draw = lambda rng: rng.choice(len(Y), size=90, p=chance / chance.sum())  # noqa: E731
    return EpochBatches(X, Y, 3, 16, draw, seed=seed, weights=weights)


def rows_of_first_epoch(batches: list[tuple[np.ndarray, ...]]) -> np.ndarray:
    return np.sort(np.concatenate([x for x, *_ in batches]), axis=0)


def trained_weights(fast_path: bool, epochs: int = 3) -> list[np.ndarray]:
    keras.utils.set_random_seed(7)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(3)])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss=keras.losses.CategoricalCrossentropy(from_logits=True))
    batches = oversampling_batches(CLASS_WEIGHTS)
    data, feeding = (tf_fit_arguments(batches), []) if fast_path else ({"x": batches}, [FeedEpoch(batches)])
    model.fit(**data, epochs=epochs, callbacks=feeding, verbose=0)
    return model.get_weights()


def test_fast_path_trains_bit_identically_to_keras_own_pydataset_path():
    fast, keras_path = trained_weights(fast_path=True), trained_weights(fast_path=False)
    assert all(np.array_equal(a, b) for a, b in zip(fast, keras_path, strict=True))
    assert not np.array_equal(trained_weights(fast_path=True, epochs=2)[0], fast[0])  # it did train, epoch by epoch


def test_each_epoch_holds_every_row_of_a_fresh_sampler_order():
    batches, twin = oversampling_batches(), oversampling_batches()
    stream = tf_fit_arguments(batches)["x"].as_numpy_iterator()
    for _ in range(2):
        twin.on_epoch_end()
        epoch = [next(stream) for _ in range(len(twin))]
        x, y, _ = (np.concatenate(part) for part in zip(*epoch, strict=True))
        assert np.array_equal(np.sort(x, axis=0), np.sort(X[twin.order], axis=0))
        assert np.array_equal(np.sort(y.argmax(1)), np.sort(Y[twin.order]))


def test_one_kept_dataset_feeds_each_fit_its_own_batches():
    first, first_twin, second, second_twin = (oversampling_batches(seed=seed) for seed in (4, 4, 5, 5))
    first_twin.on_epoch_end()
    second_twin.on_epoch_end()
    dataset = tf_fit_arguments(first)["x"]
    running = dataset.as_numpy_iterator()
    started = [next(running)]  # the first fit's iterator has started
    assert tf_fit_arguments(second)["x"] is dataset, "one dataset per batch signature"
    new = [batch for _, batch in zip(range(len(second)), dataset.as_numpy_iterator(), strict=False)]
    started += [next(running) for _ in range(len(first) - 1)]
    assert np.array_equal(rows_of_first_epoch(new), np.sort(X[second_twin.order], axis=0))
    assert np.array_equal(rows_of_first_epoch(started), np.sort(X[first_twin.order], axis=0))


def test_the_global_random_state_is_left_alone():
    """The prefetch thread draws ahead by however far its timing lets it; the global state must not depend on that."""
    random.seed(11)
    before = random.getstate()
    batches = oversampling_batches()
    list(tf_fit_arguments(batches)["x"].take(3 * len(batches)).as_numpy_iterator())
    assert random.getstate() == before


def test_a_second_iterator_is_refused():
    """Two would share the sampler and the shuffler: batches would interleave between them."""
    dataset = tf_fit_arguments(oversampling_batches())["x"]
    next(iter(dataset))
    with pytest.raises(Exception, match="single iterator"):
        next(iter(dataset))


def test_an_empty_fold_is_refused_rather_than_fed_forever():
    empty = EpochBatches(X, Y, 3, 16, lambda rng: np.array([], dtype=int), seed=1)
    with pytest.raises(ValueError, match="no batches"):
        tf_fit_arguments(empty)


def test_an_epoch_with_another_batch_count_is_an_error_not_a_misalignment():
    shrinking = iter([70, 70, 30])  # the first draw is EpochBatches' own, the next two are the epochs'
    batches = EpochBatches(X, Y, 3, 16, lambda rng: rng.permutation(len(Y))[: next(shrinking)], seed=1)
    stream = tf_fit_arguments(batches)["x"].as_numpy_iterator()
    for _ in range(len(batches)):
        next(stream)
    with pytest.raises(Exception, match="batches for an epoch"):
        next(stream)
