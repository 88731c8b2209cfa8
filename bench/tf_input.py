"""TensorFlow's fast path for the training batches: EpochBatches' batches through one tf.data iterator per fit.

Keras feeds a PyDataset to TensorFlow through `tf.data.Dataset.from_generator`
with an autotuned prefetch, and makes a new iterator every epoch. Each new
iterator starts threads, some of which wait on timers. When those threads
cannot spill onto another core (one core per worker with `--workers`, or a
process pinned to one core) the process sits idle while they wait. Here the
dataset never ends, so with `steps_per_epoch` Keras keeps one iterator for the
whole fit; autotuning is off, since a prefetch of one batch is all it would
tune.

The batches are the ones Keras's PyDataset path makes, in the same order, so
results are bit-identical: the sampler's order is drawn before each epoch
(Keras calls `on_epoch_end` before the first one too), and the batches are
shuffled as `fit(shuffle=True)` shuffles a PyDataset's batch indices, with
Python's `random` in the state the model's seed left it. The other backends
take the PyDataset itself.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from bench.training import EpochBatches


def tf_dataset(batches: EpochBatches) -> Any:
    """An endless tf.data.Dataset of `batches`' (x, one-hot y) batches: fit it with steps_per_epoch=len(batches)."""
    import tensorflow as tf

    # A copy of the global state: the prefetch thread draws ahead, and must not
    # move the state under a model built after this fit.
    shuffler = random.Random()
    shuffler.setstate(random.getstate())

    def every_epoch() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        while True:
            batches.on_epoch_end()
            batch_ids = list(range(len(batches)))
            shuffler.shuffle(batch_ids)
            for i in batch_ids:
                yield batches[i]

    signature = tuple(tf.TensorSpec((None, *part.shape[1:]), tf.as_dtype(part.dtype)) for part in batches[0])
    options = tf.data.Options()
    options.autotune.enabled = False
    return tf.data.Dataset.from_generator(every_epoch, output_signature=signature).prefetch(1).with_options(options)
