"""What watches a fit: validation scores over every class, divergence, early stopping and the epoch it keeps."""

from __future__ import annotations

import math
import time
from typing import Any

import keras
import keras_tuner
import numpy as np
from sklearn.metrics import classification_report

from bench.metrics import counted_confusion, validation_scores
from bench.training.models import predict_logits

OBJECTIVE = "val_macro_f1"


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
