"""The training fold as Keras batches: the strategy's sampler decides the rows, its class weights ride along."""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np

from strategies.base import ClassWeights, Sampler


class EpochBatches(keras.utils.PyDataset):
    """Batches drawn by index from the single copy of the training fold, with the strategy's loss weights.

    The strategy's sampler decides each epoch's index order (a shuffle, or an
    oversampled list), so resampling never duplicates feature arrays.
    Class weights travel as per-sample weights in the batches, the one way
    that reaches the loss on every backend at every epoch (a weight switched
    on mid-training, as deferred re-weighting does, would be invisible to a
    step JAX traced earlier). Keras reduces them as its `class_weight=` does,
    sum(w*l)/B; weights marked `per_batch` (LDAM-DRW, as in its reference
    code) are scaled to mean 1 in each batch, giving sum(w*l)/sum(w). A
    strategy without weights gets weights of 1 (l * 1.0 is l, bit for bit),
    so every strategy's batches have one signature and a kept model's traced
    train step serves weighted and unweighted fits alike (bench.training.compiled). Keras
    takes the batches as they are on JAX and PyTorch; on TensorFlow they go
    through bench.training.tf_input, which yields the same batches.
    """

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray,
        num_classes: int,
        batch_size: int,
        sampler: Sampler,
        seed: int,
        weights: ClassWeights | None = None,
        first_epoch: int = 0,
    ) -> None:
        super().__init__()
        self.x, self.y, self.y_onehot = x, y, np.eye(num_classes, dtype="float32")[y]
        self.batch_size, self.sampler, self.weights = batch_size, sampler, weights
        self.rng = np.random.default_rng(seed)
        self.order = sampler(self.rng)
        self.first_epoch = self.epoch = first_epoch  # the epoch being drawn, set by whoever feeds the fit

    def __len__(self) -> int:
        return math.ceil(len(self.order) / self.batch_size)

    def __getitem__(self, index: int) -> tuple[np.ndarray, ...]:
        rows = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        if self.weights is not None and self.epoch >= self.weights.start:
            per_sample = self.weights.vector[self.y[rows]]
            if self.weights.per_batch:
                per_sample = per_sample / per_sample.mean()
        else:
            per_sample = np.ones(len(rows))
        return self.x[rows], self.y_onehot[rows], per_sample.astype("float32")

    def on_epoch_end(self) -> None:
        self.order = self.sampler(self.rng)


class FeedEpoch(keras.callbacks.Callback):
    """Tells the batches which epoch they are drawn for, from Keras's own epoch count.

    The dataset's hooks cannot: on JAX and PyTorch Keras draws a batch to
    build the model before the first epoch, with an extra on_epoch_begin and
    on_epoch_end around it, which TensorFlow does not.
    """

    def __init__(self, batches: EpochBatches) -> None:
        super().__init__()
        self.batches = batches

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.batches.epoch = epoch
