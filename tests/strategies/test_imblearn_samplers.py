"""imbalanced-learn's samplers through the one adapter: parameters read from the library, refusals known early.

The adapter's hook is numpy and imbalanced-learn only, the same on every
backend, so these run on TensorFlow; tests/strategies/test_registry.py trains
one of the samplers on every backend.
"""

from __future__ import annotations

from numbers import Integral

import keras_tuner
import numpy as np
import pytest
from imblearn import over_sampling
from sklearn.utils._param_validation import Interval

from bench.commands.catalog import catalog
from bench.commands.cli import main
from bench.errors import UserError
from bench.registry import Bounds
from bench.specs import parse_spec
from bench.storage.rows import Status
from bench.storage.store import Store
from strategies import STRATEGIES, resolve
from strategies.base import NotApplicable
from strategies.imblearn_samplers import IMBLEARN_PARTS, LIBRARY, SAMPLERS, parameters_of, sampler_part
from strategies.testing import check_strategy


def test_fifteen_or_more_samplers_are_listed_by_name_with_their_references():
    text = catalog()
    assert len(IMBLEARN_PARTS) >= 15
    for cls in IMBLEARN_PARTS:
        assert STRATEGIES[cls.name].factory is cls
        assert f"  {cls.name} " in text and LIBRARY in cls.reference and cls.reference in text


@pytest.mark.parametrize("cls", IMBLEARN_PARTS, ids=[cls.name for cls in IMBLEARN_PARTS])
def test_passes_the_checks_a_users_strategy_must_pass(cls):
    check_strategy(cls)


def test_parameters_their_bounds_and_options_are_the_librarys():
    params = parameters_of(over_sampling.BorderlineSMOTE)
    assert set(params) == {"sampling_strategy", "k_neighbors", "m_neighbors", "kind"}, "no seed, jobs or objects"
    assert params["k_neighbors"].default == 5 and str(params["k_neighbors"].bounds) == "[1, inf)"
    assert params["kind"].options == ("borderline-1", "borderline-2") and params["kind"].default == "borderline-1"
    assert str(parameters_of(over_sampling.SVMSMOTE)["out_step"].bounds) == "[0, 1]"
    catalogued = catalog()
    assert "kind=borderline-1 in {borderline-1, borderline-2}" in catalogued


def test_a_changed_constraint_moves_the_bound(monkeypatch):
    narrower = {**over_sampling.BorderlineSMOTE._parameter_constraints}
    narrower["k_neighbors"] = [Interval(Integral, 2, 9, closed="both")]
    monkeypatch.setattr(over_sampling.BorderlineSMOTE, "_parameter_constraints", narrower)
    part = sampler_part("borderline-smote", SAMPLERS["borderline-smote"])
    assert part.parameters["k_neighbors"].bounds == Bounds(2, 9)
    with pytest.raises(UserError, match=r"^borderline-smote: parameter 'k_neighbors' must be in \[2, 9\], got 10$"):
        part.entry().arguments(parse_spec("borderline-smote[k_neighbors=10]"))


def test_a_value_the_library_does_not_offer_is_refused_in_one_line():
    with pytest.raises(UserError) as refusal:
        resolve("borderline-smote[kind=borderline-3]")
    assert str(refusal.value) == (
        "borderline-smote: parameter 'kind' must be one of borderline-1, borderline-2, got 'borderline-3'"
    )
    assert resolve("random-undersampler[replacement=true]").name == "random-undersampler[replacement=true]"


@pytest.mark.parametrize(
    ("spec", "counts", "refused"),
    [
        ("adasyn", [50, 20, 5], "class(es) 2 have fewer than 6 training samples"),
        ("adasyn", [50, 20, 6], None),
        ("adasyn[n_neighbors=4]", [50, 20, 5], None),
        ("near-miss", [50, 2], "class(es) 1 have fewer than 3 training samples"),
        ("near-miss", [50, 3], None),
        ("smote-tomek", [50, 0, 5], "class(es) 2 have fewer than 6"),
        ("tomek-links", [50, 1], None),
    ],
)
def test_too_few_samples_for_the_neighbours_are_known_when_the_study_is_planned(spec, counts, refused):
    reason = resolve(spec).skip(np.array(counts))
    assert reason is None if refused is None else refused in reason


def test_a_refusal_that_depends_on_the_data_is_a_skip_with_the_librarys_reason():
    y = np.repeat([0, 1, 2], [60, 4, 3])
    x = np.random.default_rng(0).normal(size=(len(y), 4)).astype("float32")
    part = resolve("kmeans-smote")
    assert part.skip(np.bincount(y)) is None, "enough samples for its neighbours"
    with pytest.raises(NotApplicable, match="^kmeans-smote: imbalanced-learn cannot resample this fold: No clusters"):
        part.resample(keras_tuner.HyperParameters(), x, y, 1)


def test_the_library_release_is_part_of_the_version():
    assert resolve("smote-tomek").version == f"1@{LIBRARY}"
    assert resolve("stratify+tomek-links").version == f"1+1@{LIBRARY}"
    assert resolve("oversample").version == "1", "parts that wrap no library keep their keys"


def test_on_digits_lt_a_sampler_runs_or_is_skipped_when_planned_with_its_reason(tmp_path, capsys):
    out = tmp_path / "study"
    args = ["run", "--profile", "smoke", "--seeds", "1", "--epochs", "1", "--out", str(out)]
    assert main([*args, "--strategy", "tomek-links", "--strategy", "adasyn", "--strategy", "stratify+near-miss"]) == 0
    with Store.open_existing(out) as store:
        cells = {row.strategy: row for row in store.cells()}
    assert cells["tomek-links"].status is Status.DONE
    assert cells["adasyn"].status is Status.SKIPPED
    assert cells["adasyn"].error.startswith("adasyn: class(es) ")
    assert "which imbalanced-learn's ADASYN with n_neighbors=5 needs" in cells["adasyn"].error
    assert cells["stratify+near-miss"].status is Status.SKIPPED
    assert "tuning adasyn" not in capsys.readouterr().out, "skipped before any search"
