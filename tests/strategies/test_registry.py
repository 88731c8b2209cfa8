"""Every registered strategy, on binary and multiclass toy data, through the real training code.

The checks a user's strategy must pass too live in strategies.testing; here they run on every built-in.
"""

from __future__ import annotations

import math

import keras_tuner
import pytest

from bench.commands.catalog import catalog
from bench.config import TrainingOptions
from bench.errors import UserError
from bench.registry import Bounds, Entry, Tunable, declared_type
from bench.specs import Spec, Value, parse_spec
from bench.training.tuning import search
from strategies import BUILT_IN, STRATEGIES, resolve
from strategies.imblearn_samplers import IMBLEARN_PARTS
from strategies.testing import check_strategy, toy_fold, toy_hypermodel

NAMES = [entry.name for entry in STRATEGIES]
# imbalanced-learn's samplers share one adapter, backend-free: one of them trains here on every backend,
# each of them in tests/strategies/test_imblearn_samplers.py.
TRAINED = [cls for cls in BUILT_IN if cls not in IMBLEARN_PARTS[1:]]
BOUNDED = [(entry.name, key) for entry in STRATEGIES for key in entry.bounds]
OPTIONS = [(entry.name, key) for entry in STRATEGIES for key in entry.options]


def test_at_least_fifteen_strategies():
    assert len(NAMES) >= 15


def test_the_registry_is_the_list_of_classes_under_their_declared_names():
    assert sorted(NAMES) == NAMES == sorted(cls.name for cls in BUILT_IN)
    assert all(STRATEGIES[cls.name].factory is cls for cls in BUILT_IN)


@pytest.mark.backend
@pytest.mark.parametrize("cls", TRAINED, ids=[cls.name for cls in TRAINED])
def test_passes_the_checks_a_users_strategy_must_pass(cls):
    """Declared with bounds, hooks derived, training rows only, fold untouched, same seed same logits."""
    check_strategy(cls)


@pytest.mark.parametrize("name", NAMES)
def test_listed_with_description_and_reference(name):
    entry = STRATEGIES[name]
    assert entry.description and entry.reference
    text = catalog()
    assert f"  {name} " in text and entry.reference in text


@pytest.mark.parametrize("name", NAMES)
def test_every_parameter_declares_bounds_that_its_defaults_and_choices_satisfy(name):
    entry = STRATEGIES[name]
    numbers = {key for key, value in entry.params.items() if declared_type(value) in (int, float)}
    assert set(entry.bounds) == numbers, "a number without declared bounds, or bounds on a bool or str"
    assert all(declared_type(entry.params[key]) is str for key in entry.options)
    entry.arguments(Spec(name))  # checks every default and every tuned choice


def beside(edge: float, outward: float, kind: type) -> tuple[Value, Value]:
    """The nearest values of `kind` on either side of a bound: (towards the inside, towards `outward`)."""
    if kind is int:
        step = 1 if outward > edge else -1
        return int(edge) - step, int(edge) + step
    return math.nextafter(edge, -outward), math.nextafter(edge, outward)


def edge_cases(bounds: Bounds, kind: type) -> tuple[list[Value], list[Value]]:
    """Values just inside and just outside each finite side of `bounds`: (accepted, refused)."""
    accepted, refused = [], []
    for edge, inclusive, outward in (
        (bounds.low, bounds.low_inclusive, -math.inf),
        (bounds.high, bounds.high_inclusive, math.inf),
    ):
        if edge is None:
            continue
        inside, outside = beside(edge, outward, kind)
        exact = kind(edge)
        accepted.append(exact if inclusive else inside)
        refused.append(outside if inclusive else exact)
    return accepted, refused


@pytest.mark.parametrize(("name", "key"), BOUNDED)
def test_each_parameter_refuses_values_just_outside_its_bounds_in_one_line(name, key):
    entry = STRATEGIES[name]
    bounds = entry.bounds[key]
    accepted, refused = edge_cases(bounds, declared_type(entry.params[key]))
    assert refused, f"{name}: '{key}' is bounded on neither side"
    for value in accepted:
        assert entry.arguments(Spec(name, ((key, value),)))[key] == value
    for value in refused:
        with pytest.raises(UserError) as refusal:
            entry.arguments(Spec(name, ((key, value),)))
        assert str(refusal.value) == f"{name}: parameter '{key}' must be in {bounds}, got {value!r}"


@pytest.mark.parametrize(("name", "key"), OPTIONS)
def test_each_string_parameter_takes_its_options_and_refuses_others_in_one_line(name, key):
    entry = STRATEGIES[name]
    for option in entry.options[key]:
        assert entry.arguments(Spec(name, ((key, option),)))[key] == option
    with pytest.raises(UserError) as refusal:
        entry.arguments(Spec(name, ((key, "none-of-these"),)))
    assert (
        str(refusal.value)
        == f"{name}: parameter '{key}' must be one of {', '.join(entry.options[key])}, got 'none-of-these'"
    )


def test_bounds_read_as_intervals_check_tuned_choices_and_name_only_declared_parameters():
    assert [str(b) for b in (Bounds(0, 1, low_inclusive=False), Bounds(0.0, 1.0, high_inclusive=False))] == [
        "(0, 1]",
        "[0, 1)",
    ]
    assert str(Bounds(1)) == "[1, inf)" and float("nan") not in Bounds(0.0, 1.0) and True not in Bounds(0, 2)
    with pytest.raises(ValueError, match="undeclared parameter"):
        Entry("x", "", dict, {"a": 1}, bounds={"b": Bounds(0)})
    with pytest.raises(ValueError, match="undeclared parameter"):
        Entry("x", "", dict, {"a": 1}, options={"b": ("c",)})
    with pytest.raises(UserError, match=r"^x: parameter 'a' must be in \[0, inf\), got -1$"):
        Entry("x", "", dict, {"a": Tunable((1, -1))}, bounds={"a": Bounds(0)}).arguments(Spec("x"))


@pytest.mark.parametrize("name", [cls.name for cls in TRAINED])
def test_hyperparameters_join_the_search_space(name):
    hp = keras_tuner.HyperParameters()
    model = toy_hypermodel(resolve(name), toy_fold(3))
    model.build(hp)
    part = STRATEGIES.create(parse_spec(name))
    for key, default in STRATEGIES[name].params.items():
        hp_name = part.hp_name(key)
        assert hp_name in hp.values
        space = {p.name: p for p in hp.space}
        if isinstance(default, Tunable):
            assert list(space[hp_name].values) == list(default.choices)


@pytest.mark.parametrize("tuner", ["random", "hyperband", "bayesian"])
@pytest.mark.parametrize("name", [cls.name for cls in TRAINED])
def test_one_trial_under_each_tuner(name, tuner, tmp_path):
    result = search(
        toy_hypermodel(resolve(name), toy_fold(3)),
        TrainingOptions(tuner=tuner, max_trials=1, epochs=1, tuner_seed=3),
        directory=tmp_path,
        project="p",
    )
    assert result.best is not None, result.error
