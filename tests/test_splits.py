"""The evaluation protocol, checked on index sets."""

import numpy as np
import pytest

from bench.data import Dataset, LongTail
from bench.datasets import DATASETS
from bench.errors import UserError
from bench.specs import parse_spec
from bench.splits import holdout, make_fold


@pytest.fixture(scope="module")
def digits() -> Dataset:
    return DATASETS.create(parse_spec("digits-lt"))


def test_exp_profile_follows_the_long_tail_formula():
    counts = LongTail(ratio=100.0).counts(np.full(10, 150))
    expected = np.maximum(np.floor(150 * 100.0 ** (-np.arange(10) / 9)), 2)
    assert counts.tolist() == expected.astype(int).tolist()
    assert counts[0] == 150 and counts[-1] == 2


def test_step_profile_has_mu_minority_classes():
    counts = LongTail(ratio=10.0, profile="step", mu=0.4).counts(np.full(10, 100))
    assert counts.tolist() == [100] * 6 + [10] * 4


@pytest.mark.parametrize("seed", [1, 2])
def test_test_set_is_shared_and_disjoint(digits, seed):
    random_fold = make_fold(digits, seed, stratified=False, val_fraction=0.2)
    stratified_fold = make_fold(digits, seed, stratified=True, val_fraction=0.2)
    assert np.array_equal(random_fold.test, stratified_fold.test)
    for fold in (random_fold, stratified_fold):
        parts = [set(fold.train), set(fold.val), set(fold.test)]
        assert not parts[0] & parts[1] and not parts[0] & parts[2] and not parts[1] & parts[2]


def test_digits_test_set_is_balanced_and_pool_long_tailed(digits):
    test, pool = holdout(digits, 1)
    assert np.bincount(digits.y[test]).tolist() == [30] * 10
    pool_counts = np.bincount(digits.y[pool])
    assert pool_counts[0] / pool_counts[-1] >= 50
    assert list(pool_counts) == sorted(pool_counts, reverse=True)


def test_different_seeds_cut_different_test_sets(digits):
    assert not np.array_equal(holdout(digits, 1)[0], holdout(digits, 2)[0])


def test_stratified_validation_keeps_proportions_within_one_sample(digits):
    fold = make_fold(digits, 3, stratified=True, val_fraction=0.2)
    pool_counts = np.bincount(digits.y[np.concatenate([fold.train, fold.val])], minlength=10)
    val_counts = np.bincount(digits.y[fold.val], minlength=10)
    assert np.all(np.abs(val_counts - pool_counts * 0.2) <= 1)


def test_single_sample_class_cannot_be_stratified():
    data = Dataset("tiny", np.zeros((7, 2), "float32"), np.array([0, 0, 0, 1, 1, 1, 2]), ("a", "b", "c"))
    with pytest.raises(UserError, match="class 'c' has a single sample"):
        make_fold(data, 1, stratified=True, val_fraction=0.3)


@pytest.mark.parametrize("params", ["ratio=0.5", "profile=log", "mu=1.5", "test_per_class=500"])
def test_digits_parameters_are_checked(params):
    with pytest.raises(UserError):
        DATASETS.create(parse_spec(f"digits-lt[{params}]"))
