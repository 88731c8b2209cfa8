"""Cost of training epochs per strategy on digits-lt, as the harness runs them.

Run with `tox -e bench-tensorflow` (or bench-jax, bench-torch; or `pytest benchmarks`); each round is one fit of
EPOCHS epochs after a warm-up fit, so traced functions are reused and the
fixed cost of a fit call is spread over several epochs. Divide by EPOCHS for
the per-epoch cost (batches, loss, class weights, validation scoring) and
compare strategies relative to baseline.
"""

from __future__ import annotations

import keras_tuner
import numpy as np
import pytest

from bench.backend import enable_determinism
from bench.data.sources import DATASETS
from bench.data.splits import make_fold
from bench.specs import parse_spec
from bench.training.hypermodel import FoldData, ImbalanceHyperModel
from bench.training.models import resolve_model
from strategies import STRATEGIES, resolve

# smote needs k_neighbors below the rarest class's count on digits-lt[ratio=100].
EPOCHS = 5
SPECS = [entry.name if entry.name != "smote" else "smote[k_neighbors=1]" for entry in STRATEGIES]


@pytest.fixture(scope="module")
def digits():
    return DATASETS.create(parse_spec("digits-lt"))


@pytest.mark.parametrize("spec", SPECS)
def test_epochs(benchmark, digits, spec):
    enable_determinism()
    strategy = resolve(spec)
    fold = make_fold(digits, 1, strategy.stratified, 0.2)
    if reason := strategy.skip(np.bincount(digits.y[fold.train], minlength=10)):
        pytest.skip(reason)  # as a study would plan it (imbalanced-learn's samplers that need more neighbours)
    arrays = FoldData(digits.x[fold.train], digits.y[fold.train], digits.x[fold.val], digits.y[fold.val], 10)
    _, builder = resolve_model("mlp", digits.input_shape)
    hypermodel = ImbalanceHyperModel(builder, strategy, arrays, seed=1)
    hp = keras_tuner.HyperParameters()
    model = hypermodel.build(hp)
    first = hypermodel.train(hp, model, epochs=1)  # trace once, outside the timing

    benchmark.extra_info["samples_per_epoch"] = first.samples_per_epoch
    benchmark.extra_info["epochs"] = EPOCHS
    benchmark.pedantic(lambda: hypermodel.fit(hp, model, epochs=EPOCHS), rounds=5, iterations=1)
