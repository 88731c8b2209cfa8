"""TensorFlow's fast path for the training batches: EpochBatches' batches through one tf.data iterator per fit.

Keras feeds a PyDataset to TensorFlow through `tf.data.Dataset.from_generator`
with an autotuned prefetch, and makes a new iterator every epoch. Each new
iterator starts threads, some of which wait on timers. When those threads
cannot spill onto another core (one core per worker with `--workers`, or a
process pinned to one core) the process sits idle while they wait. Here the
dataset never ends, so with `steps_per_epoch` Keras keeps one iterator for the
whole fit; autotuning is off, since a prefetch of one batch is all it would
tune. The dataset itself is kept per batch signature (`endless_dataset`), and
each fit's iterator takes that fit's batches.

The batches are the ones Keras's PyDataset path makes, in the same order, so
results are bit-identical: the sampler's order is drawn before each epoch
(Keras calls `on_epoch_end` before the first one too), its epoch counted
here (for weights that switch on later), and the batches are
shuffled as `fit(shuffle=True)` shuffles a PyDataset's batch indices, with
Python's `random` in the state the model's seed left it. That holds while
nothing else in the fit draws from Python's `random` (nothing in this
project does) and every epoch has as many batches as the first (as Keras's
epoch count assumes too). The other backends take the PyDataset itself.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from bench.training.batches import EpochBatches

Batches = Iterator[tuple[np.ndarray, ...]]
# Per batch signature: the dataset, and the list holding the next fit's batches until its iterator takes them.
_DATASETS: dict[tuple[tuple[tuple[int | None, ...], str], ...], tuple[Any, list[Callable[[], Batches]]]] = {}


def endless_dataset(signature: tuple[Any, ...]) -> tuple[Any, list[Callable[[], Batches]]]:
    """This process's dataset of batches of `signature`, and the list a fit puts its batches' maker in: the next
    iterator (one per fit) takes it out, so the dataset holds no fit's arrays, and a second iterator is refused.

    Making a `from_generator` dataset traces its functions (about 15 ms, a few percent of a kept fit of
    the default MLP); one per signature, kept, pays that once. A process runs one fit at a time.
    """
    import tensorflow as tf

    key = tuple((tuple(spec.shape), spec.dtype.name) for spec in signature)
    if key not in _DATASETS:
        fits: list[Callable[[], Batches]] = []

        def next_fit() -> Batches:
            if not fits:  # two would share the sampler and the shuffler, and their batches would interleave
                raise RuntimeError("this dataset feeds a single iterator per fit; make new arguments for each fit")
            return fits.pop()()

        options = tf.data.Options()
        options.autotune.enabled = False
        dataset = tf.data.Dataset.from_generator(next_fit, output_signature=signature).prefetch(1)
        _DATASETS[key] = dataset.with_options(options), fits
    return _DATASETS[key]


def tf_fit_arguments(batches: EpochBatches) -> dict[str, Any]:
    """`model.fit` keywords that feed `batches` as one endless tf.data.Dataset, an epoch every len(batches) steps."""
    import tensorflow as tf

    steps = len(batches)
    if not steps:  # Keras refuses an empty PyDataset; an endless empty dataset would never yield
        raise ValueError("the training fold has no batches: the strategy's sampler drew no rows")
    # The prefetch thread draws ahead by however far its timing lets it: shuffling
    # with a copy of the state keeps the global one where this fit found it.
    shuffler = random.Random()
    shuffler.setstate(random.getstate())

    def every_epoch() -> Batches:
        epoch = batches.first_epoch
        while True:
            batches.on_epoch_end()
            batches.epoch, epoch = epoch, epoch + 1
            if len(batches) != steps:
                raise RuntimeError(f"the sampler drew {len(batches)} batches for an epoch, not {steps} as before")
            batch_ids = list(range(steps))
            shuffler.shuffle(batch_ids)
            for i in batch_ids:
                yield batches[i]

    signature = tuple(tf.TensorSpec((None, *part.shape[1:]), tf.as_dtype(part.dtype)) for part in batches[0])
    dataset, fits = endless_dataset(signature)
    fits[:] = [every_epoch]
    return {"x": dataset, "steps_per_epoch": steps, "shuffle": False}  # shuffled already
