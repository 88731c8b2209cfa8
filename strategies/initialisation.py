"""Strategies that change the model's starting point, not its training."""

from __future__ import annotations

from typing import Any

import numpy as np

from strategies.base import NotApplicable, StrategyPart, log_prior


class BiasInit(StrategyPart):
    """Output bias set to the log class priors, so training starts from the base rates.

    From TensorFlow's imbalanced-data tutorial: without it the first epochs are
    spent learning the imbalance itself.
    """

    name = "bias-init"
    description = "output bias initialised to the log class priors"
    reference = "TensorFlow tutorial 'Classification on imbalanced data'; Karpathy 2019"
    version = 1

    def init_model(self, model: Any, hp: Any, y_train: np.ndarray, num_classes: int) -> Any:
        output = model.layers[-1]
        bias = getattr(output, "bias", None)
        if bias is None or tuple(bias.shape) != (num_classes,):
            raise NotApplicable(f"bias-init: the model's last layer has no bias of shape ({num_classes},)")
        prior = log_prior(y_train, num_classes)
        bias.assign((prior - prior.mean()).astype("float32"))
        return model
