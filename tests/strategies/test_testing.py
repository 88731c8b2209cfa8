"""check_strategy: passes a well-made user strategy, and names the check a leaky or badly declared one fails."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bench.registry import Bounds, Parameter, Tunable
from strategies import StrategyPart
from strategies.base import ClassifierStage
from strategies.testing import check_strategy, toy_fold
from strategies.weighting import tempered_balanced_weights

pytestmark = pytest.mark.backend

STUDIES = Path(__file__).parents[2] / "studies"


def test_the_worked_example_passes_with_its_defaults_and_a_fixed_value():
    from strategies import user_entry

    cls = user_entry(f"{STUDIES / 'my_strategy.py'}:LogInverseWeights").factory
    check_strategy(cls)
    check_strategy(cls, c=1.5)


def declared(**body: Any) -> type:
    """A class declared like the built-ins, with `body` replacing or (as None) removing declarations."""
    defaults = {"name": "example", "description": "an example", "reference": "a test", "version": 1}
    return type("Example", (StrategyPart,), {k: v for k, v in {**defaults, **body}.items() if v is not None})


# -- leaky examples: each fails the check that names its leak ------------------------------------


def weights_from_validation(self: StrategyPart, hp: Any, y_train: np.ndarray) -> dict[int, float]:
    """Counts the validation labels too: the weights no longer follow the training fold."""
    return tempered_balanced_weights(np.concatenate([y_train, toy_fold(3).y_val]), 1.0)


def beyond_the_fold(self: StrategyPart, hp: Any, y_train: np.ndarray) -> Any:
    """Draws row numbers past the training fold, where validation rows would follow."""
    return lambda rng: rng.integers(0, len(y_train) + 15, size=len(y_train))


def centres_in_place(self: StrategyPart, hp: Any, x_train: np.ndarray, y_train: np.ndarray, seed: int) -> Any:
    """Centres the training inputs in the caller's array: every later trial sees them changed."""
    x_train -= x_train.mean(axis=0)
    return x_train, y_train


def stage_beyond_the_fold(self: StrategyPart, hp: Any, y_train: np.ndarray) -> Any:
    """Retrains the classifier on row numbers past the training fold."""
    return ClassifierStage(2, lambda rng: np.arange(len(y_train) + 15))


def stage_of_no_epochs(self: StrategyPart, hp: Any, y_train: np.ndarray) -> Any:
    return ClassifierStage(0, lambda rng: rng.permutation(len(y_train)))


def unseeded(self: StrategyPart, hp: Any, y_train: np.ndarray) -> Any:
    """Shuffles with a generator of its own: two runs with one seed differ."""
    return lambda rng: np.random.default_rng().permutation(len(y_train))


@pytest.mark.parametrize(
    ("hook", "leak", "message"),
    [
        (
            "class_weight",
            weights_from_validation,
            r"^Example: class_weight: weights must come from the training labels",
        ),
        ("sampler", beyond_the_fold, r"^Example: sampler: an epoch's order must be integer row indices in \[0, 45\)"),
        ("resample", centres_in_place, r"^Example: training fold untouched: the fit changed the training arrays"),
        ("sampler", unseeded, r"^Example: same seed, same logits: two 1-epoch fits with seed 7 differ"),
        (
            "retrain_classifier",
            stage_beyond_the_fold,
            r"^Example: retrain_classifier: an epoch's order must be integer row indices in \[0, 45\)",
        ),
        ("retrain_classifier", stage_of_no_epochs, r"^Example: retrain_classifier: must return None or ClassifierSt"),
    ],
    ids=[
        "weights from validation labels",
        "sampler beyond the fold",
        "inputs changed in place",
        "unseeded",
        "classifier stage beyond the fold",
        "classifier stage of no epochs",
    ],
)
def test_a_leaky_strategy_fails_the_check_that_names_its_leak(hook, leak, message):
    with pytest.raises(AssertionError, match=message):
        check_strategy(declared(**{hook: leak}))


# -- declarations: refused before any training ---------------------------------------------------


def wrong_signature(self: StrategyPart, y_train: np.ndarray) -> dict[int, float]:
    return {}


def refusing(self: StrategyPart, train_counts: np.ndarray) -> str:
    return "needs more samples"


@pytest.mark.parametrize(
    ("cls", "params", "message"),
    [
        (dict, {}, r"^subclass: <class 'dict'> is not a strategies.StrategyPart subclass$"),
        (declared(version=None), {}, r"^Example: declaration: declare version on Example itself"),
        (declared(version=0), {}, r"^Example: declaration: version must be an int from 1, .*; got 0$"),
        (declared(name="My Weights"), {}, r"^Example: declaration: name 'My Weights' must be lower-case"),
        (declared(reference=""), {}, r"^Example: declaration: reference must be a non-empty str, got ''$"),
        (declared(parameters={"w": 0.5}), {}, r"^Example: parameters: 'w' must be declared as .*Parameter"),
        (declared(parameters={"w": Parameter(0.5)}), {}, r"^Example: parameters: 'w' is float: declare Bounds"),
        (
            declared(parameters={"w": Parameter(Tunable((1, 2.0)), Bounds(0))}),
            {},
            r"^Example: parameters: 'w' needs a default \(or Tunable choices\) all of one type",
        ),
        (
            declared(parameters={"w": Parameter(Tunable((0.5, 3.0)), Bounds(0.0, 2.0))}),
            {},
            r"^Example: parameters: example: parameter 'w' must be in \[0, 2\], got 3.0$",
        ),
        (
            declared(parameters={"w": Parameter(0.5, Bounds(0.0, 2.0))}, __init__=lambda self: None),
            {},
            r"^Example: parameters: Example\(\*\*parameters\) fails .*accept every declared parameter",
        ),
        (
            declared(parameters={"w": Parameter(0.5, Bounds(0.0, 2.0))}),
            {"w": 5.0},
            r"^Example: parameters: example: parameter 'w' must be in \[0, 2\], got 5.0$",
        ),
        (
            declared(class_weight=wrong_signature),
            {},
            r"^Example: hooks: Example.class_weight takes \(self, y_train\); keep StrategyPart's \(self, hp, y_train\)",
        ),
        (declared(skip=refusing), {}, r"^Example: skip: refuses the check's fold \(training counts \[30, 9, 6\]\)"),
        (declared(corrects_prior="yes"), {}, r"^Example: declaration: corrects_prior must be True or False, got 'yes'"),
    ],
    ids=[
        "not-a-subclass",
        "no-version",
        "version-0",
        "bad-name",
        "empty-reference",
        "bare-default",
        "number-without-bounds",
        "mixed-choices",
        "choice-out-of-bounds",
        "init-refuses-parameters",
        "value-out-of-bounds",
        "hook-signature",
        "skip-refuses",
        "corrects-prior-not-bool",
    ],
)
def test_a_badly_declared_strategy_fails_naming_the_declaration(cls, params, message):
    with pytest.raises(AssertionError, match=message):
        check_strategy(cls, **params)


def test_hooks_changed_after_the_class_was_made_are_caught():
    cls = declared(class_weight=lambda self, hp, y_train: None)
    cls.hooks = frozenset()
    with pytest.raises(AssertionError, match=r"^Example: hooks: \[\] set by hand, its overridden methods change"):
        check_strategy(cls)
