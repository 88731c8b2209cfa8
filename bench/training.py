"""Training one model the way the protocol says: fold-only data, logits, seeded.

This is the only module (with bench.tuning) that imports Keras and
keras-tuner, so listing, status and reports stay fast and backend-free.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import keras
import keras_tuner
import numpy as np
from sklearn.metrics import classification_report

from bench.backend import forget_dead_custom_gradients
from bench.metrics import counted_confusion, validation_scores
from bench.models import FOLD_NORMALIZATION, Builder
from bench.tf_input import tf_fit_arguments
from strategies.base import ClassWeights, NotApplicable, Sampler, Strategy

OBJECTIVE = "val_macro_f1"


@dataclass(frozen=True)
class FoldData:
    """The arrays a strategy may touch: training and validation, never test."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    num_classes: int


def enable_determinism() -> None:
    """Ask TensorFlow for deterministic kernels; seeding happens per model in build()."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


class EpochBatches(keras.utils.PyDataset):
    """Batches drawn by index from the single copy of the training fold, with the strategy's loss weights.

    The strategy's sampler decides each epoch's index order (a shuffle, or an
    oversampled list), so resampling never duplicates feature arrays.
    Class weights travel as per-sample weights in the batches, the one way
    that reaches the loss on every backend at every epoch (a weight switched
    on mid-training, as deferred re-weighting does, would be invisible to a
    step JAX traced earlier). Each batch's weights are scaled to mean 1, so
    the loss is the weighted mean sum(w*l)/sum(w) of Cao et al.'s reference
    code and the effective learning rate does not jump when weights switch on.
    Keras takes it as it is on JAX and PyTorch; on TensorFlow it goes through
    bench.tf_input, which yields the same batches.
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
        if self.weights is None:
            return self.x[rows], self.y_onehot[rows]
        if self.epoch >= self.weights.start:
            per_sample = self.weights.vector[self.y[rows]]
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


def fit_inputs(batches: EpochBatches) -> tuple[dict[str, Any], list[keras.callbacks.Callback]]:
    """`model.fit` keywords that feed `batches`, and the callbacks that keep their epoch count.

    On TensorFlow one tf.data iterator serves the whole fit (bench.tf_input)
    and its generator counts the epochs itself, since it prefetches across
    their boundaries; the other backends take the PyDataset.
    """
    if keras.backend.backend() == "tensorflow":
        return tf_fit_arguments(batches), []
    return {"x": batches}, [FeedEpoch(batches)]


class ValidationMetrics(keras.callbacks.Callback):
    """Scores the whole validation set after each epoch, over every class, and keeps a per-epoch record.

    Keras metrics average over batches and cannot express macro-F1 exactly;
    scores over the full set, as scikit-learn defines them with `labels=` all
    classes (as on test), can. Scalars
    (val_loss, val_macro_f1, val_macro_recall) go into the logs, where
    keras-tuner, EarlyStopping and ReduceLROnPlateau read them, so this
    callback must run first. Per-class recall and the confusion matrix are
    kept here, since logs must stay scalar. With `class_names`, a
    classification report is printed every epoch.
    """

    def __init__(
        self, x_val: np.ndarray, y_val: np.ndarray, num_classes: int, class_names: tuple[str, ...] | None = None
    ) -> None:
        super().__init__()
        self.x_val, self.y_val, self.class_names = x_val, y_val, class_names
        self.y_val_onehot = np.eye(num_classes, dtype="float32")[y_val]
        self.labels = np.arange(num_classes)
        self.recall_per_class: list[list[float]] = []
        self.confusion: list[list[list[int]]] = []
        self.scoring_seconds = 0.0  # harness work inside model.fit, kept apart from training time

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        # The logits and the loss are the validation pass Keras itself runs inside fit (validation_data):
        # training time. Scoring them is the harness's own work, timed apart.
        logits = predict_logits(self.model, self.x_val)
        val_loss = float(keras.ops.convert_to_numpy(self.model.loss(self.y_val_onehot, logits)))
        started = time.perf_counter()
        predicted = logits.argmax(axis=1)
        matrix = counted_confusion(self.y_val, predicted, len(self.labels))
        macro_f1, macro_recall, recall = validation_scores(matrix)
        scores = {"val_loss": val_loss, OBJECTIVE: macro_f1, "val_macro_recall": macro_recall}
        self.recall_per_class.append([float(r) for r in recall])
        self.confusion.append(matrix.tolist())
        if logs is not None:
            logs.update(scores)
        if self.class_names is not None:
            report = classification_report(
                self.y_val, predicted, labels=self.labels, target_names=list(self.class_names), zero_division=0
            )
            print(f"epoch {epoch + 1}: val_macro_f1 {scores[OBJECTIVE]:.3f}\n{report}", flush=True)
        self.scoring_seconds += time.perf_counter() - started


class Diverged(keras_tuner.errors.FailedTrialError):
    """Training produced a non-finite loss: the trial or cell fails with this reason instead of scoring garbage.

    A keras-tuner FailedTrialError, so the tuner records the trial as failed
    (no retry) and goes on with the next one.
    """


class StopOnDivergence(keras.callbacks.Callback):
    """Raises Diverged when the epoch's training or validation loss is NaN or infinite.

    Keras's TerminateOnNaN only stops training, after which the NaN model would
    still be scored; this makes the failure visible where it happened.
    """

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        for key in ("loss", "val_loss"):
            value = (logs or {}).get(key)
            if value is not None and not math.isfinite(value):
                raise Diverged(
                    f"training diverged: {key} is {value} at epoch {epoch + 1}; "
                    "lower the learning rate or check the data for extreme values"
                )


def predict_logits(model: Any, x: np.ndarray, chunk: int = 1024) -> np.ndarray:
    """Logits in chunks via predict_on_batch.

    model.predict builds a data pipeline per call (~80 ms on small data);
    called every epoch that overhead would exceed the epoch itself.
    """
    parts = [np.asarray(model.predict_on_batch(x[i : i + chunk])) for i in range(0, len(x), chunk)]
    return np.concatenate(parts)


def float32_logits(model: keras.Model, input_shape: tuple[int, ...]) -> keras.Model:
    """The model with its logits cast to float32, as Keras's mixed-precision guide asks of the output.

    The last layer still computes in float16 (a builder's own layers are
    left as written); the cast makes the loss, post-hoc adjustments and the
    stored logits work in float32. Wrapping works for any builder's model,
    functional or subclassed.
    """
    return keras.Sequential(
        [keras.Input(shape=input_shape), model, keras.layers.Activation("linear", dtype="float32")], name=model.name
    )


def adapt_fold_normalization(model: keras.Model, x_train: np.ndarray) -> None:
    """Set every Normalization layer named FOLD_NORMALIZATION to the training fold's mean and variance.

    The built-in models start with such a layer, so raw uint8 pixels train as
    well as inputs scaled by hand, and validation and test rows never shape
    the statistics. Written out rather than `adapt()`: a feature constant in
    the training fold (an always-blank pixel) gets variance 1, as scikit-learn's
    StandardScaler does, where Keras would divide a non-blank test pixel by
    1e-7. A user's model may name a layer so, applied to its inputs, to get the same.
    """
    for layer in _all_layers(model):
        if isinstance(layer, keras.layers.Normalization) and layer.name == FOLD_NORMALIZATION:
            kept = {a % x_train.ndim for a in layer.axis}
            reduced = tuple(a for a in range(x_train.ndim) if a not in kept)
            data = x_train.astype("float64")
            mean, variance = data.mean(axis=reduced), data.var(axis=reduced)
            variance[variance <= 1e-12] = 1.0
            layer.adapt_mean.assign(mean.astype("float32"))
            layer.adapt_variance.assign(variance.astype("float32"))
            layer.finalize_state()


def _all_layers(layer: Any) -> Iterator[Any]:
    for inner in getattr(layer, "layers", ()):
        yield inner
        yield from _all_layers(inner)


class ImbalanceHyperModel(keras_tuner.HyperModel):
    """A builder + a strategy + one fold, as keras-tuner's HyperModel.

    build() seeds before creating weights, so a trial's result depends on its
    hyperparameters alone and not on how many trials ran before it (which
    keeps resumed searches reproducible). fit() early-stops on validation
    macro-F1 and records the epoch whose weights it keeps: a search scores a
    trial there (bench.tuning), the epoch its final run will keep.
    """

    def __init__(
        self,
        builder: Builder,
        strategy: Strategy,
        fold: FoldData,
        seed: int,
        on_fit_end: Callable[[], None] | None = None,
        reduce_lr: bool = False,
        live_class_names: tuple[str, ...] | None = None,
        mixed_precision: bool = False,
        patience: int = 5,
        min_epochs: int = 0,
        budget: str = "epochs",
    ) -> None:
        super().__init__(name=strategy.name)
        self.builder, self.strategy, self.fold, self.seed = builder, strategy, fold, seed
        self.on_fit_end = on_fit_end
        self.reduce_lr = reduce_lr
        self.live_class_names = live_class_names
        self.mixed_precision = mixed_precision
        self.patience, self.min_epochs, self.budget = patience, min_epochs, budget
        self.samples_per_epoch = 0
        self.compute_seconds = 0.0  # in model.fit (less the harness's own scoring), over every fit
        self.monitor: ValidationMetrics | None = None
        self.not_applicable = ""  # set when the strategy refuses this data; keras-tuner only logs it

    @contextlib.contextmanager
    def noting_refusal(self) -> Iterator[None]:
        try:
            yield
        except NotApplicable as exc:
            self.not_applicable = str(exc)
            raise

    def build(self, hp: keras_tuner.HyperParameters) -> keras.Model:
        keras.backend.clear_session()
        forget_dead_custom_gradients()
        keras.config.set_dtype_policy("mixed_float16" if self.mixed_precision else "float32")
        keras.utils.set_random_seed(self.seed)
        fold = self.fold
        model = self.builder(hp, fold.x_train.shape[1:], fold.num_classes)
        adapt_fold_normalization(model, fold.x_train)
        with self.noting_refusal():
            model = self.strategy.init_model(model, hp, fold.y_train, fold.num_classes)
        if self.mixed_precision:
            model = float32_logits(model, fold.x_train.shape[1:])
        self.strategy.declare(hp)
        # Defaults are what a model built outside a search gets (the model check, tests).
        hp.Choice("batch_size", [16, 32, 64], default=32)
        learning_rate = hp.Float("learning_rate", 1e-4, 1e-2, sampling="log", default=1e-3)
        if self.reduce_lr:
            hp.Choice("reduce_lr_factor", [0.5, 0.2])
            hp.Choice("reduce_lr_patience", [2, 3])
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate),
            loss=self.strategy.loss(hp, fold.y_train, fold.num_classes),
        )
        return model

    def fit(self, hp: keras_tuner.HyperParameters, model: keras.Model, *args: Any, **kwargs: Any) -> Any:
        """Train on the fold; the History it returns carries `kept_epoch`, the epoch whose weights the model keeps.

        With budget "steps", epochs, patience and `min_epochs` are scaled so
        that every strategy takes as many optimiser steps as the plain training
        fold would in that many epochs (oversampling's longer epochs get fewer).
        Weights, priors and margins count the classes of the training fold's
        own labels, also when a sampler synthesises rows (SMOTE). No epoch
        before `min_epochs`, nor before the strategy's weights switch on, is
        kept: the scored model is one that trained with every part of its
        strategy.
        """
        fold, strategy = self.fold, self.strategy
        with self.noting_refusal():
            x_train, y_train = strategy.resample(hp, fold.x_train, fold.y_train, self.seed)
        batch_size = hp.get("batch_size")
        batches = EpochBatches(
            x_train,
            y_train,
            fold.num_classes,
            batch_size,
            strategy.sampler(hp, y_train),
            self.seed,
            first_epoch=kwargs.get("initial_epoch", 0),
        )
        # Budget in optimiser steps: epochs, patience and warm-up count epochs of the plain fold's length.
        scale = math.ceil(len(fold.y_train) / batch_size) / len(batches) if self.budget == "steps" else 1.0
        kwargs["epochs"] = max(1, round(kwargs["epochs"] * scale))
        patience, min_epochs = max(1, round(self.patience * scale)), round(self.min_epochs * scale)
        weights = strategy.class_weights(hp, fold.y_train, fold.num_classes, kwargs["epochs"])
        batches.weights = weights
        self.samples_per_epoch = len(batches.order)
        self.monitor = ValidationMetrics(fold.x_val, fold.y_val, fold.num_classes, self.live_class_names)
        stopping = early_stopping(patience, max(min_epochs, weights.start if weights else 0))
        callbacks = [
            self.monitor,  # first: it puts val_loss and val_macro_f1 into the logs the others read
            StopOnDivergence(),
            stopping,
            *strategy.callbacks(hp, fold.y_train, fold.num_classes),
            *kwargs.pop("callbacks", []),
        ]
        if self.reduce_lr:
            callbacks.append(
                keras.callbacks.ReduceLROnPlateau(
                    monitor="val_loss", factor=hp.get("reduce_lr_factor"), patience=hp.get("reduce_lr_patience")
                )
            )
        data, feeding = fit_inputs(batches)
        callbacks = feeding + callbacks
        kwargs.setdefault("verbose", 0)
        started = time.perf_counter()
        history = model.fit(**data, callbacks=callbacks, **kwargs)
        self.compute_seconds += time.perf_counter() - started - self.monitor.scoring_seconds
        history.kept_epoch = stopping.best_epoch if stopping.best_weights is not None else history.epoch[-1]
        history.weights_from = weights.start if weights else None
        history.optimiser_steps = len(batches) * len(history.epoch)
        if self.on_fit_end is not None:
            self.on_fit_end()
        return history


def kept_scores(history: keras.callbacks.History) -> dict[str, float]:
    """The validation scores of the epoch the fit kept (see ImbalanceHyperModel.fit), for keras-tuner's oracle.

    keras-tuner scores a History by its best epoch over all epochs, one the
    final run may never keep (before `min_epochs`, or before deferred weights
    switch on); a trial is worth what its kept weights score.
    """
    index = history.epoch.index(history.kept_epoch)
    return {key: float(values[index]) for key, values in history.history.items()}


def early_stopping(patience: int, start: int = 0) -> keras.callbacks.EarlyStopping:
    """Stop when validation macro-F1 stalls, keeping the best weights, none from before epoch `start`.

    A CNN trained from scratch often predicts only the majority class for its
    first epochs (flat macro-F1); without the warm-up, patience would end it
    there and every strategy would look useless on images. Keras restores the
    best weights from `start` on at the end of training, stopped early or not.
    """
    return keras.callbacks.EarlyStopping(
        monitor=OBJECTIVE, mode="max", patience=patience, restore_best_weights=True, start_from_epoch=start
    )
