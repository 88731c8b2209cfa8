"""Post-hoc strategies: change how logits become a class, with no retraining.

They choose their adjustment on the validation set (never the test set) and
apply it to the logits of an already trained model, so a study reuses the
matching trained strategy's models (baseline's for a plain post-hoc name).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.metrics import f1_score

from bench.records import Classifier
from strategies.base import StrategyPart, log_prior


def macro_f1_with(
    offsets: np.ndarray, logits: np.ndarray, y_true: np.ndarray, scale: float | np.ndarray = 1.0
) -> float:
    """Macro-F1 over every class of the logits * scale + offsets, as the test score counts them.

    Without `labels=`, a class absent from validation and never predicted would
    drop out of the average, and the choice would optimise a different score.
    """
    predicted = (logits * scale + offsets).argmax(axis=1)
    every_class = np.arange(logits.shape[1])
    return float(f1_score(y_true, predicted, labels=every_class, average="macro", zero_division=0))


Adjustment = tuple[float | np.ndarray, np.ndarray]  # (scale, offsets): the logits become logits * scale + offsets


class TunedTau(StrategyPart):
    """A post-hoc correction of the prior with one knob, tau, chosen on validation macro-F1 over 0 to 2 by 0.1.

    The first maximum wins: the smallest adjustment that is best, so a
    model that needs none keeps tau = 0.
    """

    corrects_prior = True
    taus = np.round(np.linspace(0.0, 2.0, 21), 2)

    def best_tau(
        self, adjustment: Callable[[float], Adjustment], val_logits: np.ndarray, y_val: np.ndarray
    ) -> tuple[float, Adjustment]:
        adjustments = [adjustment(float(tau)) for tau in self.taus]
        scores = [macro_f1_with(offsets, val_logits, y_val, scale) for scale, offsets in adjustments]
        best = int(np.argmax(scores))
        return float(self.taus[best]), adjustments[best]


class PosthocLogitAdjust(TunedTau):
    """Predict argmax(logits - tau * log prior) (Menon et al. 2021), tau picked on validation macro-F1."""

    name = "posthoc-logit-adjust"
    description = "no retraining: predict argmax(logits - tau * log prior), tau chosen on validation"
    reference = "Menon et al. 2021 (post-hoc variant)"
    version = 1

    def posthoc(
        self, val_logits: np.ndarray, y_val: np.ndarray, y_train: np.ndarray, classifier: Classifier | None
    ) -> dict[str, Any]:
        prior = log_prior(y_train, val_logits.shape[1])
        tau, (_, offsets) = self.best_tau(lambda tau: (1.0, -tau * prior), val_logits, y_val)
        return {"offsets": offsets, "posthoc_tau": tau}


class Threshold(StrategyPart):
    """Per-class additive offsets on the logits maximising validation macro-F1, by coordinate ascent.

    scikit-learn's TunedThresholdClassifierCV handles binary problems only, so
    the search (two sweeps over classes on a fixed grid) is written here.
    """

    name = "threshold"
    description = "no retraining: per-class logit offsets maximising validation macro-F1"
    reference = "Lipton et al. 2014, Optimal Thresholding of Classifiers to Maximize F1"
    version = 1
    grid = np.round(np.linspace(-4.0, 4.0, 33), 2)

    def posthoc(
        self, val_logits: np.ndarray, y_val: np.ndarray, y_train: np.ndarray, classifier: Classifier | None
    ) -> dict[str, Any]:
        offsets = np.zeros(val_logits.shape[1])
        best = macro_f1_with(offsets, val_logits, y_val)
        for _ in range(2):
            for label in range(len(offsets)):
                for candidate in self.grid:
                    trial = offsets.copy()
                    trial[label] = candidate
                    if (score := macro_f1_with(trial, val_logits, y_val)) > best:
                        best, offsets = score, trial
        return {"offsets": offsets, "threshold_offsets": [round(float(o), 2) for o in offsets]}
