"""One fit of the default MLP on digits-lt: a new compiled model against a kept one (bench.training.compiled).

The quick profile's fit (up to 30 epochs, early-stopped), baseline, default
hyperparameters, seed 1's fold. `new` compiles and traces every fit, as every
fit did before models were kept; `kept` trains the model the first fit
compiled, from a fresh build's state. `extra_info["epochs"]` is how many
epochs each fit ran (the same for both: their weights are bit-identical).
"""

from __future__ import annotations

import keras_tuner
import pytest

from bench.config import build_config
from bench.execution.plan import prepare
from bench.execution.tasks import fold_data
from bench.training.compiled import CompiledModels
from bench.training.hypermodel import ImbalanceHyperModel


@pytest.mark.parametrize("capacity", [0, 1], ids=["new", "kept"])
def test_one_fit(benchmark, capacity):
    study = prepare(build_config({}, {}))
    strategy = study.strategies["baseline"]
    arrays, _, _ = fold_data(study, "digits-lt", strategy, 1)
    hypermodel = ImbalanceHyperModel(
        study.models["digits-lt"].builder,
        strategy,
        arrays,
        1,
        study.config.protocol.training,
        compiled=CompiledModels(capacity),
    )
    hp = keras_tuner.HyperParameters()

    def fit() -> int:
        return len(hypermodel.train(hp, hypermodel.build(hp), epochs=study.config.protocol.epochs).epochs)

    fit()  # the first fit compiles in both cases, and loads the backend's kernels
    epochs = benchmark.pedantic(fit, rounds=5, iterations=1)
    benchmark.extra_info["epochs"] = epochs
