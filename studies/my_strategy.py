"""A worked example of bringing your own imbalance strategy to imbalance-bench.

`python -m bench run --config studies/my-strategy.toml` uses this file; on the
command line it is `--strategy studies/my_strategy.py:LogInverseWeights[c=1.1]`,
and it composes with built-ins like any strategy (`stratify+...`). A strategy
is a subclass of `strategies.StrategyPart` that:

- declares `name`, `description`, `reference`, `version` and `parameters`
  (each a `Parameter` with its default, or `Tunable` choices for the tuner, and
  its `Bounds`); a value out of bounds is refused before anything is written;
- overrides the methods of the hooks it changes, here `class_weight` (the loss
  weights); its hooks are derived from them, so a composite that changes the
  same thing twice (`...+class-weight`, `...+oversample`) is refused;
- computes everything from what the harness hands it (the training fold's
  labels), never from other data.

`python studies/my_strategy.py` runs on it the checks every built-in passes
(strategies.testing.check_strategy).
"""

from typing import Any

import numpy as np

from strategies import Bounds, Parameter, StrategyPart, Tunable


class LogInverseWeights(StrategyPart):
    """Class weights 1 / ln(c + p_c), p_c the class's share of the training fold (Paszke et al. 2016, ENet).

    Unlike inverse frequency, the weights are capped at 1 / ln(c) however rare
    a class is, so a class with a handful of samples does not dominate the
    loss; c near 1 weighs rare classes most, large c approaches no weighting.
    The harness scales the weights to average 1 over the training fold and
    reduces the loss as Keras's class_weight= does, so only ratios matter.
    """

    name = "log-inverse-weights"
    description = "class weights 1 / ln(c + share of the class in the training fold), capped at 1 / ln(c)"
    reference = "Paszke et al. 2016, ENet: A Deep Neural Network Architecture for Real-Time Semantic Segmentation"
    version = 2  # 2: weights as Keras's class_weight= applies them (imbalance-bench protocol 3)
    corrects_prior = True
    parameters = {"c": Parameter(Tunable((1.02, 1.1, 1.5)), Bounds(1.0, 10.0, low_inclusive=False))}

    def class_weight(self, hp: Any, y_train: np.ndarray) -> dict[int, float]:
        c = float(self.value(hp, "c"))  # the tuner's choice, or the value a spec fixed
        classes, counts = np.unique(y_train, return_counts=True)
        weights = 1.0 / np.log(c + counts / counts.sum())
        return {int(label): float(w) for label, w in zip(classes, weights, strict=True)}


if __name__ == "__main__":
    from strategies.testing import check_strategy

    check_strategy(LogInverseWeights)
    check_strategy(LogInverseWeights, c=1.5)
    print("LogInverseWeights passes the common strategy checks")
