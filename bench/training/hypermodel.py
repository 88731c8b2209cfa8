"""A builder, a strategy and one fold as keras-tuner's HyperModel: how every model of a study is built and fit.

The training package (with the commands that run it) is the only place that
imports Keras and keras-tuner, so listing, status and reports stay fast and
backend-free.
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

from bench.backend import feeds_one_tf_dataset, forget_dead_custom_gradients
from bench.config import TrainingOptions
from bench.records import Trained
from bench.training.batches import EpochBatches, FeedEpoch
from bench.training.callbacks import StopOnDivergence, ValidationMetrics, early_stopping
from bench.training.classifier import classifier_layer, classifier_record, freeze_all_but, reinitialise
from bench.training.compiled import COMPILED, CompiledModels, all_layers, compile_with_optimizer_built
from bench.training.models import FOLD_NORMALIZATION, Builder, predict_logits
from bench.training.tf_input import tf_fit_arguments
from strategies.base import ClassifierStage, NotApplicable, Strategy


@dataclass(frozen=True)
class FoldData:
    """The arrays a strategy may touch: training and validation, never test."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    num_classes: int


def fit_inputs(batches: EpochBatches) -> tuple[dict[str, Any], list[keras.callbacks.Callback]]:
    """`model.fit` keywords that feed `batches`, and the callbacks that keep their epoch count.

    On TensorFlow one tf.data iterator serves the whole fit (bench.training.tf_input)
    and its generator counts the epochs itself, since it prefetches across
    their boundaries; the other backends take the PyDataset.
    """
    if feeds_one_tf_dataset():
        return tf_fit_arguments(batches), []
    return {"x": batches}, [FeedEpoch(batches)]


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
    for layer in all_layers(model):
        if isinstance(layer, keras.layers.Normalization) and layer.name == FOLD_NORMALIZATION:
            kept = {a % x_train.ndim for a in layer.axis}
            reduced = tuple(a for a in range(x_train.ndim) if a not in kept)
            data = x_train.astype("float64")
            mean, variance = data.mean(axis=reduced), data.var(axis=reduced)
            variance[variance <= 1e-12] = 1.0
            layer.adapt_mean.assign(mean.astype("float32"))
            layer.adapt_variance.assign(variance.astype("float32"))
            layer.finalize_state()


@dataclass(frozen=True)
class Fit:
    """One fit's outcome: Keras's per-epoch logs, the validation scores per class, and what the harness kept.

    Epochs are 0-based, as Keras counts them; `weights_from` is the epoch deferred
    class weights switch on (None without deferred weights).
    """

    history: dict[str, list[float]]  # Keras's logs with the validation scores ValidationMetrics adds
    epochs: list[int]
    kept_epoch: int  # the epoch whose weights the model ends with
    weights_from: int | None
    optimiser_steps: int
    samples_per_epoch: int
    recall_per_class: list[list[float]]  # per epoch, over every class
    confusion: list[list[list[int]]]  # per epoch

    @property
    def kept_scores(self) -> dict[str, float]:
        """The scores of the kept epoch: what a trial is worth to keras-tuner's oracle.

        keras-tuner would score a History by its best epoch over all epochs,
        one the final run may never keep (before `min_epochs`, or before
        deferred weights switch on); a trial is worth what its kept weights score.
        """
        index = self.epochs.index(self.kept_epoch)
        return {key: float(values[index]) for key, values in self.history.items()}

    def then(self, later: Fit) -> Fit:
        """This fit and a later one of the same model (a second stage) as one record, keeping the later's epoch."""
        return Fit(
            history={key: values + later.history[key] for key, values in self.history.items() if key in later.history},
            epochs=self.epochs + later.epochs,
            kept_epoch=later.kept_epoch,
            weights_from=self.weights_from,
            optimiser_steps=self.optimiser_steps + later.optimiser_steps,
            samples_per_epoch=self.samples_per_epoch,
            recall_per_class=self.recall_per_class + later.recall_per_class,
            confusion=self.confusion + later.confusion,
        )


class ImbalanceHyperModel(keras_tuner.HyperModel):
    """A builder + a strategy + one fold, as keras-tuner's HyperModel.

    build() seeds before creating weights, so a trial's result depends on its
    hyperparameters alone and not on how many trials ran before it (which
    keeps resumed searches reproducible); it returns a compiled model of the
    same structure from `compiled`, holding the new model's starting state,
    when this process has one (bench.training.compiled). train() early-stops on validation
    macro-F1 and returns the fit's record, with the epoch whose weights it keeps;
    fit(), keras-tuner's entry, gives the oracle that epoch's scores, so a search
    scores a trial at the epoch its final run will keep.
    """

    def __init__(
        self,
        builder: Builder,
        strategy: Strategy,
        fold: FoldData,
        seed: int,
        options: TrainingOptions | None = None,  # the defaults: what a model built outside a study gets
        on_fit_end: Callable[[], None] | None = None,
        live_class_names: tuple[str, ...] | None = None,
        compiled: CompiledModels = COMPILED,
    ) -> None:
        super().__init__(name=strategy.name)
        self.builder, self.strategy, self.fold, self.seed = builder, strategy, fold, seed
        self.options, self.on_fit_end = options or TrainingOptions(), on_fit_end
        self.live_class_names = live_class_names
        self.compiled = compiled
        self.compute_seconds = 0.0  # in model.fit (less the harness's own scoring), over every fit
        self.not_applicable = ""  # set when the strategy refuses this data; keras-tuner only logs it
        self.only_declaring = False

    @contextlib.contextmanager
    def declaring(self) -> Iterator[None]:
        """Builds that only declare the hyperparameters (keras-tuner learning its search space): nothing compiles."""
        self.only_declaring = True
        try:
            yield
        finally:
            self.only_declaring = False

    @contextlib.contextmanager
    def noting_refusal(self) -> Iterator[None]:
        try:
            yield
        except NotApplicable as exc:
            self.not_applicable = str(exc)
            raise

    def first_kept_epoch(self) -> int:
        """The first epoch (0-based) every fit of this search may keep: min_epochs, or the latest deferred start."""
        return max(self.options.min_epochs, self.strategy.latest_weights_start(self.options.epochs))

    def build(self, hp: keras_tuner.HyperParameters) -> keras.Model:
        # Fresh layer names and graph; no gc.collect() (0.1 s a build with the kept models alive, a fifth of a kept
        # fit of the default MLP): the discarded models' cycles go at Python's own next full collection.
        keras.backend.clear_session(free_memory=False)
        forget_dead_custom_gradients()
        keras.config.set_dtype_policy("mixed_float16" if self.options.mixed_precision else "float32")
        keras.utils.set_random_seed(self.seed)
        fold = self.fold
        model = self.builder(hp, fold.x_train.shape[1:], fold.num_classes)
        adapt_fold_normalization(model, fold.x_train)
        with self.noting_refusal():
            model = self.strategy.init_model(model, hp, fold.y_train, fold.num_classes)
            if self.strategy.retrains_classifier:  # refused before any trial trains, not after its first stage
                classifier_layer(model, fold.num_classes)
        if self.options.mixed_precision:
            model = float32_logits(model, fold.x_train.shape[1:])
        self.strategy.declare(hp)
        # Defaults are what a model built outside a search gets (the model check, tests).
        hp.Choice("batch_size", [16, 32, 64], default=32)
        learning_rate = hp.Float("learning_rate", 1e-4, 1e-2, sampling="log", default=1e-3)
        if self.options.reduce_lr:
            hp.Choice("reduce_lr_factor", [0.5, 0.2])
            hp.Choice("reduce_lr_patience", [2, 3])
        loss = self.strategy.loss(hp, fold.y_train, fold.num_classes)  # a part may declare its knobs here too
        if self.only_declaring:
            return model
        optimizer = keras.optimizers.Adam(learning_rate)
        if self.strategy.adds_callbacks or self.strategy.retrains_classifier:  # they change the model: it is not kept
            compile_with_optimizer_built(model, optimizer, loss)
            return model
        return self.compiled.compiled(model, optimizer, loss)

    def trained(self, model: keras.Model, fit: Fit, x_test: np.ndarray) -> Trained:
        """What a cell keeps of a fitted model: its validation and test logits and how it trained.

        The predictions count as compute time of this hypermodel; the record's
        own `compute_seconds` is left for the caller, who knows whose time it is.
        """
        started = time.perf_counter()
        val_logits, test_logits = predict_logits(model, self.fold.x_val), predict_logits(model, x_test)
        self.compute_seconds += time.perf_counter() - started
        return Trained(
            val_logits=val_logits,
            test_logits=test_logits,
            history={
                **{k: [float(v) for v in values] for k, values in fit.history.items()},
                "val_recall_per_class": fit.recall_per_class,
                "val_confusion": fit.confusion,
                "kept_epoch": fit.kept_epoch + 1,  # 1-based, as the report counts epochs
                "weights_from_epoch": None if fit.weights_from is None else fit.weights_from + 1,
                "optimiser_steps": fit.optimiser_steps,
                "classifier": classifier_record(model, self.fold.num_classes),  # what tau-norm reuses with the logits
            },
            samples_per_epoch=fit.samples_per_epoch,
        )

    def fit(self, hp: keras_tuner.HyperParameters, model: keras.Model, *args: Any, **kwargs: Any) -> dict[str, float]:
        """keras-tuner's entry: train, and score the trial at the epoch the fit keeps (Fit.kept_scores)."""
        return self.train(hp, model, **kwargs).kept_scores

    def train(self, hp: keras_tuner.HyperParameters, model: keras.Model, **kwargs: Any) -> Fit:
        """Train on the fold with `model.fit`'s keywords (epochs, callbacks); the record of what the fit kept.

        With budget "steps", epochs, patience and `min_epochs` are scaled so
        that every strategy takes as many optimiser steps as the plain training
        fold would in that many epochs (oversampling's longer epochs get fewer).
        Weights, priors and margins count the classes of the training fold's
        own labels, also when a sampler synthesises rows (SMOTE). No epoch
        before `min_epochs`, nor before the strategy's weights switch on, is
        kept: the scored model is one that trained with every part of its
        strategy. A strategy that retrains the classifier (crt) then gets its
        second stage, and the record covers both.
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
        scale = math.ceil(len(fold.y_train) / batch_size) / len(batches) if self.options.budget == "steps" else 1.0
        kwargs["epochs"] = max(1, round(kwargs["epochs"] * scale))
        patience, min_epochs = max(1, round(self.options.patience * scale)), round(self.options.min_epochs * scale)
        # Deferred weights start at a fraction of the study's budget, not of a hyperband round's.
        budget = max(1, round(self.options.epochs * scale))
        weights = strategy.class_weights(hp, fold.y_train, fold.num_classes, budget)
        batches.weights = weights
        given = kwargs.pop("callbacks", [])  # the caller's (TensorBoard, keras-tuner's): they watch both stages
        extra = [*strategy.callbacks(hp, fold.y_train, fold.num_classes), *given]
        first_kept = max(min_epochs, weights.start if weights else 0)
        fit = self.fit_batches(hp, model, batches, first_kept, patience, extra, **kwargs)
        if (stage := strategy.retrain_classifier(hp, fold.y_train)) is not None:
            fit = fit.then(self.retrain_classifier(hp, model, stage, fit.epochs[-1] + 1, given, **kwargs))
        if self.on_fit_end is not None:
            self.on_fit_end()
        return fit

    def fit_batches(
        self,
        hp: keras_tuner.HyperParameters,
        model: keras.Model,
        batches: EpochBatches,
        first_kept: int,
        patience: int,
        extra: list[keras.callbacks.Callback],
        **kwargs: Any,
    ) -> Fit:
        """One `model.fit` on `batches`, scored on validation each epoch, keeping its best epoch from `first_kept`."""
        fold = self.fold
        monitor = ValidationMetrics(fold.x_val, fold.y_val, fold.num_classes, self.live_class_names)
        stopping = early_stopping(patience, first_kept)
        callbacks = [monitor, StopOnDivergence(), stopping, *extra]  # monitor first: it writes the scores
        if self.options.reduce_lr:
            callbacks.append(
                keras.callbacks.ReduceLROnPlateau(
                    monitor="val_loss", factor=hp.get("reduce_lr_factor"), patience=hp.get("reduce_lr_patience")
                )
            )
        data, feeding = fit_inputs(batches)
        kwargs.setdefault("verbose", 0)
        started = time.perf_counter()
        history = model.fit(**data, callbacks=feeding + callbacks, **kwargs)
        self.compute_seconds += time.perf_counter() - started - monitor.scoring_seconds
        return Fit(
            history=history.history,
            epochs=history.epoch,
            kept_epoch=stopping.best_epoch if stopping.best_weights is not None else history.epoch[-1],
            weights_from=batches.weights.start if batches.weights else None,
            optimiser_steps=len(batches) * len(history.epoch),
            samples_per_epoch=len(batches.order),
            recall_per_class=monitor.recall_per_class,
            confusion=monitor.confusion,
        )

    def retrain_classifier(
        self,
        hp: keras_tuner.HyperParameters,
        model: keras.Model,
        stage: ClassifierStage,
        first_epoch: int,
        callbacks: list[keras.callbacks.Callback],
        **kwargs: Any,
    ) -> Fit:
        """The second stage (cRT): the logits layer re-initialised and trained alone, from the first stage's kept
        weights, for `stage.epochs` more epochs on its sampler's batches; a new optimiser, as Kang et al. use."""
        fold = self.fold
        with self.noting_refusal():
            classifier = classifier_layer(model, fold.num_classes)
        freeze_all_but(model, classifier)
        reinitialise(classifier)
        loss = self.strategy.loss(hp, fold.y_train, fold.num_classes)
        compile_with_optimizer_built(model, keras.optimizers.Adam(hp.get("learning_rate")), loss)
        batches = EpochBatches(
            fold.x_train,
            fold.y_train,
            fold.num_classes,
            hp.get("batch_size"),
            stage.sampler,
            self.seed,
            first_epoch=first_epoch,
        )
        kwargs.update(initial_epoch=first_epoch, epochs=first_epoch + stage.epochs)
        # Its batches are as long as the training fold, so the patience needs no scaling for a steps budget.
        return self.fit_batches(hp, model, batches, first_epoch, self.options.patience, callbacks, **kwargs)
