"""Decoupling representation and classifier (Kang et al., ICLR 2020): the features as trained, the classifier fixed.

Both start from a model trained like baseline (instance-balanced sampling).
`crt` then re-initialises the logits layer and retrains it alone, every other
layer frozen, on class-balanced batches (the harness's second stage,
bench.training.hypermodel). `tau-norm` retrains nothing: each class's weight
vector is divided by its norm to the power tau, tau chosen on validation
macro-F1, as `posthoc-logit-adjust` chooses its tau.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.records import Classifier
from bench.registry import Bounds, Parameter
from strategies.base import ClassifierStage, NotApplicable, StrategyPart
from strategies.posthoc import TunedTau
from strategies.resampling import class_balanced_order


class ClassifierRetraining(StrategyPart):
    """cRT: after training, the logits layer re-initialised and retrained on frozen features, class-balanced.

    Kang et al. retrain for 10 epochs with class-balanced sampling; here the
    batches are the harness's class-balanced ones (`balanced-batches`), as long
    as the training fold, and the second stage early-stops on validation
    macro-F1 like the first, keeping its best epoch. The second stage's
    epochs come on top of the study's budget, as in the paper.
    """

    name = "crt"
    description = (
        "classifier re-training: train as baseline, then re-initialise the last layer and retrain it alone "
        "(other layers frozen) on class-balanced batches"
    )
    reference = "Kang et al. 2020, Decoupling Representation and Classifier for Long-Tailed Recognition (cRT)"
    version = 1
    corrects_prior = True
    parameters = {"epochs": Parameter(10, Bounds(1, 1000))}

    def retrain_classifier(self, hp: Any, y_train: np.ndarray) -> ClassifierStage:
        batch_size = int(hp.get("batch_size"))  # declared by the harness before it asks for the stage
        return ClassifierStage(
            int(self.value(hp, "epochs")), lambda rng: class_balanced_order(y_train, rng, len(y_train), batch_size)
        )


def tau_normalised(classifier: Classifier, tau: float, keep_bias: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(scale, offsets) turning the layer's logits w.x + b into (w / |w| ** tau).x + b per class, or without b."""
    scale = classifier.norms**-tau
    return scale, classifier.bias * (1.0 - scale) if keep_bias else -classifier.bias * scale


class TauNorm(TunedTau):
    """tau-normalised classifier: w_c / |w_c| ** tau per class, tau picked on validation macro-F1.

    `bias=keep` (the default) leaves the layer's bias as it was, as
    MMPretrain's TauNormHook does, so tau = 0 is the trained model itself;
    `bias=drop` scores features against the normalised weights alone, as
    Kang et al.'s reference code does (their classifier's bias, trained on the
    long tail, carries the prior that tau cannot remove).
    """

    name = "tau-norm"
    description = (
        "no retraining: each class's last-layer weights divided by their norm ** tau, tau chosen on validation"
    )
    reference = "Kang et al. 2020, Decoupling Representation and Classifier for Long-Tailed Recognition (tau-norm)"
    version = 1
    reads_classifier = True
    parameters = {"bias": Parameter("keep", options=("keep", "drop"))}

    def posthoc(
        self, val_logits: np.ndarray, y_val: np.ndarray, y_train: np.ndarray, classifier: Classifier | None
    ) -> dict[str, Any]:
        if classifier is None or np.any(classifier.norms <= 0):
            raise NotApplicable(
                "tau-norm: the model's last layer is not a Dense layer with one unit (and non-zero weights) per "
                "class, so there are no class weight norms to normalise"
            )
        keep = self.params["bias"] == "keep"
        tau, (scale, offsets) = self.best_tau(lambda tau: tau_normalised(classifier, tau, keep), val_logits, y_val)
        return {"scale": scale, "offsets": offsets, "tau_norm_tau": tau}
